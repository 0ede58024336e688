import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, TestHome } from '../helpers/harness.js'

const KV = join(ROOT, 'apps/kv-store/build/kv-store.wasm')

describe('meroctl app', () => {
  const t = new TestHome()
  beforeAll(async () => {
    await t.init()
    await t.start()
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('installs kv-store (human and --json), lists it, shows its ABI, and uninstalls it', async () => {
    const human = await t.cli(['app', 'install', KV])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/application\s+\w{43,44}/)
    expect(human.stdout).toMatch(/get \(view\)/)
    const app = await t.json(['app', 'install', KV, '--alias', 'kv'])
    expect(app).toMatchObject({ applicationId: expect.any(String), size: expect.any(Number), source: 'kv-store.wasm', alias: 'kv' })
    expect(app.abi.methods.map((m: { name: string }) => m.name)).toEqual(expect.arrayContaining(['init', 'set', 'get', 'remove', 'entries', 'len', 'clear']))

    expect((await t.json(['app', 'list'])).applications).toEqual([expect.objectContaining({ applicationId: app.applicationId, alias: 'kv' })])
    expect((await t.cli(['app', 'list', '--wide'])).stdout).toContain(app.applicationId)
    expect(await t.json(['app', 'get', 'kv'])).toMatchObject({ applicationId: app.applicationId })
    expect((await t.cli(['app', 'get', app.applicationId])).stdout).toMatch(/entries \(view\)/)
    // the module is held as a blob by the application, not by the upload
    expect((await t.json(['blob', 'list'])).blobs).toEqual([expect.objectContaining({ blobId: app.applicationId, holders: [`app:${app.applicationId}`] })])

    expect((await t.cli(['app', 'uninstall', 'kv', '--json'])).code).toBe(2) // needs --yes off a TTY
    expect(await t.json(['app', 'uninstall', 'kv', '--yes'])).toEqual({ applicationId: app.applicationId, uninstalled: true })
    expect((await t.json(['app', 'list'])).applications).toEqual([])
    expect((await t.json(['blob', 'list'])).blobs).toEqual([])
    const gone = await t.cli(['app', 'get', app.applicationId, '--json'])
    expect(JSON.parse(gone.stdout).error.kind).toBe('ApplicationNotFound')
  })

  it('refuses a file that is not wasm, and leaves nothing behind', async () => {
    const bad = join(t.home, 'bad.wasm')
    writeFileSync(bad, 'not a module')
    const r = await t.cli(['app', 'install', bad, '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'InvalidModule', message: expect.stringMatching(/not a WebAssembly module/) })
    expect((await t.json(['blob', 'list'])).blobs).toEqual([])
    expect((await t.cli(['app', 'install', join(t.home, 'missing.wasm'), '--json'])).code).toBe(2)
  })
})
