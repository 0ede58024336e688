import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { onTerminal, TestHome } from '../helpers/harness.js'

/** Progress on a terminal, silence otherwise (issue 18, item 6). */
describe('progress', () => {
  const t = new TestHome()
  let file: string
  let blobId: string

  beforeAll(async () => {
    await t.init('alice')
    await t.init('bob')
    file = join(t.home, 'big.bin')
    writeFileSync(file, randomBytes(8 * 1024 * 1024))
  }, 30_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('autostart says on stderr that it starts the daemon', async () => {
    const r = await t.cli(['node', 'status', '--node', 'alice', '--json'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/no daemon answers for node 'alice'; starting merod/)
    expect(JSON.parse(r.stdout).nodeName).toBe('alice')
    expect((await t.cli(['node', 'status', '--node', 'alice'])).stderr).toBe('') // running: nothing to say
  })

  it('blob add and blob get show bytes, percentage and rate on a terminal', async () => {
    const add = await onTerminal(t, ['blob', 'add', file, '--node', 'alice'])
    expect(add.code).toBe(0)
    expect(add.screen).toMatch(/storing {2}[\d.]+ (B|KiB|MiB) \/ 8\.00 MiB \(\d+%\) {2}[\d.]+ (B|KiB|MiB)\/s/)
    expect(add.screen).toMatch(/8\.00 MiB \/ 8\.00 MiB \(100%\)/)
    blobId = /blob id\s+(\w+)/.exec(add.screen)![1]!
    const get = await onTerminal(t, ['blob', 'get', blobId, '-o', join(t.home, 'copy.bin'), '--node', 'alice'])
    expect(get.code).toBe(0)
    expect(get.screen).toMatch(/fetching {2}8\.00 MiB \/ 8\.00 MiB \(100%\)/)
    expect(get.screen).toMatch(/Wrote 8\.00 MiB to /)
  })

  it('nothing extra without a terminal, nor with --json on one', async () => {
    const piped = await t.cli(['blob', 'add', file, '--node', 'alice'])
    expect(piped.code).toBe(0)
    expect(piped.stderr).toBe('')
    const json = await onTerminal(t, ['blob', 'add', file, '--node', 'alice', '--json'])
    expect(json.screen).not.toMatch(/storing|\/s/)
    expect(JSON.parse(json.screen.replaceAll('\r', '')).blobId).toBe(blobId)
  })

  it('app install, context join and sync show what they are doing on a terminal', async () => {
    const install = await onTerminal(t, ['app', 'install', 'apps/kv-store/build/kv-store.wasm', '--alias', 'kv', '--node', 'alice'])
    expect(install.code).toBe(0)
    expect(install.screen).toMatch(/uploading {2}.*KiB/)
    expect(install.screen).toMatch(/validating and installing/)
    await t.json(['group', 'create', '--alias', 'team', '--node', 'alice'])
    const ctx = await t.json(['context', 'create', '--group', 'team', '--app', 'kv', '--node', 'alice'])
    const { token } = await t.json(['invitation', 'create', 'team', '--node', 'alice'])
    await t.json(['group', 'join', token, '--node', 'bob'])
    const join_ = await onTerminal(t, ['context', 'join', ctx.contextId, '--node', 'bob'])
    expect(join_.code).toBe(0)
    expect(join_.screen).toMatch(/joining: the key, application and state from a peer {2}\d+ ms/)
    expect(join_.screen).toMatch(/Joined context/)
    const sync = await onTerminal(t, ['context', 'sync', ctx.contextId, '--node', 'bob'])
    expect(sync.screen).toMatch(/syncing with peers/)
  })
})
