import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { instrumentModule } from '../../src/core/runtime/instrument.js'
import { ProcessInstrumenter } from '../../src/daemon/instrument-process.js'
import { ensureBuilt, fixture, kvStoreWasm } from '../core/runtime/fixtures.js'
import { ROOT } from '../helpers/harness.js'

/**
 * merod instruments application modules in a child process that ends once it has nothing to do.
 * The child is the build's (dist/, as merod runs it).
 */
describe('ProcessInstrumenter', () => {
  const made: ProcessInstrumenter[] = []
  const instrumenter = () => {
    const p = new ProcessInstrumenter({ entry: join(ROOT, 'dist/daemon/instrument-child.js') })
    made.push(p)
    return p
  }
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)
  afterEach(async () => {
    await Promise.all(made.splice(0).map((p) => p.close()))
  })

  it('gives what instrumenting here gives, in one child for jobs that come together, which exits afterwards', async () => {
    const p = instrumenter()
    const kv = kvStoreWasm()
    const [a, b] = await Promise.all([p.instrument(kv, 1024), p.instrument(kv, 64)])
    const here = await instrumentModule(kv, 1024)
    expect(Buffer.from(a.bytes).equals(Buffer.from(here.bytes))).toBe(true)
    expect(a).toMatchObject({ entryPoints: here.entryPoints, maxMemoryPages: 1024, initialMemoryPages: here.initialMemoryPages })
    expect(b.maxMemoryPages).toBe(64)
    expect(p.stats).toEqual({ jobs: 2, processesStarted: 1 })
    await p.idle()
    expect(p.running).toBe(false)
    // the next job starts another child
    await p.instrument(kv, 1024)
    expect(p.stats.processesStarted).toBe(2)
  }, 60_000)

  it("a module at fault fails with the child's InvalidModule error", async () => {
    const p = instrumenter()
    await expect(p.instrument(fixture('imports-memory'), 1024)).rejects.toMatchObject({ kind: 'InvalidModule', message: expect.stringMatching(/define and export its memory/) })
    await expect(p.instrument(fixture('uses-exceptions'), 1024)).rejects.toMatchObject({ kind: 'InvalidModule', message: expect.stringMatching(/cannot meter/) })
  }, 60_000)

  it('a child that dies fails its jobs (InvalidModule, naming how it ended), and the next job gets a new child', async () => {
    const p = instrumenter()
    const job = p.instrument(kvStoreWasm(), 1024)
    ;(p as unknown as { child: { kill(s: string): void } }).child.kill('SIGKILL')
    await expect(job).rejects.toMatchObject({ kind: 'InvalidModule', message: expect.stringMatching(/SIGKILL/) })
    await expect(p.instrument(kvStoreWasm(), 1024)).resolves.toMatchObject({ maxMemoryPages: 1024 })
  }, 60_000)

  it('after close, nothing is instrumented and no child runs', async () => {
    const p = instrumenter()
    const job = p.instrument(kvStoreWasm(), 1024)
    await p.close()
    await expect(job).rejects.toMatchObject({ kind: 'Unavailable' })
    await expect(p.instrument(kvStoreWasm(), 1024)).rejects.toMatchObject({ kind: 'Unavailable' })
    expect(p.running).toBe(false)
  })
})
