import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { instrumentModule } from '../../src/core/runtime/index.js'
import { childProcessInstrumenter } from '../../src/daemon/instrumenter.js'
import { KV_WASM } from '../helpers/cluster.js'
import { ROOT } from '../helpers/harness.js'

// the child is the built script (what merod runs); `npm run build` makes it
const instrument = childProcessInstrumenter({ child: join(ROOT, 'dist/daemon/instrument-child.js'), timeoutMs: 60_000 })

describe('instrumenting modules in a child process', () => {
  it('gives the same module as instrumenting in the daemon', async () => {
    const bytes = readFileSync(KV_WASM)
    const [there, here] = await Promise.all([instrument(bytes, 1024), instrumentModule(bytes, 1024)])
    expect(Buffer.from(there.bytes).equals(Buffer.from(here.bytes))).toBe(true)
    expect(there).toMatchObject({ entryPoints: here.entryPoints, maxMemoryPages: here.maxMemoryPages, initialMemoryPages: here.initialMemoryPages })
  }, 60_000)

  it("reports the child's typed error: a module without memory is an InvalidModule", async () => {
    // (module (func (export "f"))): no memory
    const noMemory = Buffer.from('0061736d0100000001040160000003020100070501016600000a040102000b', 'hex')
    await expect(instrument(noMemory, 1024)).rejects.toMatchObject({ kind: 'InvalidModule', message: expect.stringMatching(/must define and export its memory/) })
  }, 60_000)

  it('says so when the child cannot answer', async () => {
    const broken = childProcessInstrumenter({ child: join(ROOT, 'dist/daemon/no-such-child.js') })
    await expect(broken(readFileSync(KV_WASM), 1024)).rejects.toMatchObject({ kind: 'Internal', message: expect.stringMatching(/exited \(1\) without an answer/) })
  }, 60_000)
})
