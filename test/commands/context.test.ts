import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { MEROCTL, ROOT, TestHome, waitFor } from '../helpers/harness.js'

const KV = join(ROOT, 'apps/kv-store/build/kv-store.wasm')

describe('meroctl context and call (kv-store end to end)', () => {
  const t = new TestHome()
  let contextId: string
  let appId: string

  beforeAll(async () => {
    await t.init()
    await t.start()
    appId = (await t.json(['app', 'install', KV, '--alias', 'kv'])).applicationId
    await t.json(['group', 'create', '--alias', 'team'])
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('context create (human and --json), list and get', async () => {
    const human = await t.cli(['context', 'create', '--group', 'team', '--app', 'kv'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/context\s+\w{43,44}/)
    const c = await t.json(['context', 'create', '--group', 'team', '--app', 'kv', '--alias', 'notes'])
    expect(c).toMatchObject({ contextId: expect.any(String), applicationId: appId, alias: 'notes', visibility: 'open', rootHash: expect.stringMatching(/^[0-9a-f]{64}$/) })
    contextId = c.contextId
    const list = await t.json(['context', 'list'])
    expect(list.contexts.map((x: { contextId: string }) => x.contextId)).toContain(contextId)
    expect((await t.cli(['context', 'list', '--group', 'team', '--wide'])).stdout).toContain(contextId)
    expect(await t.json(['context', 'get', 'notes'])).toMatchObject({ contextId, members: [expect.any(String)] })
    expect((await t.cli(['context', 'get', contextId])).stdout).toMatch(/root hash\s+[0-9a-f]{64}/)
    // the group's view of its contexts shows this node's alias where the group gives none
    expect((await t.json(['group', 'get', 'team'])).contexts).toContainEqual(expect.objectContaining({ contextId, alias: null, localAlias: 'notes' }))
    expect((await t.cli(['group', 'get', 'team', '--wide'])).stdout).toMatch(new RegExp(`${contextId}.*notes`))
  })

  it('call set, get, entries, len, remove: readable output, --json {result, events, rootHash}', async () => {
    const set = await t.json(['call', 'notes', 'set', '--args', '{"key":"a","value":"1"}'])
    expect(set).toMatchObject({ events: [{ kind: 'Inserted', data: { key: 'a', value: '1' } }], rootHash: expect.stringMatching(/^[0-9a-f]{64}$/), deltaId: expect.any(String) })
    const human = await t.cli(['call', 'notes', 'set', '--args', '{"key":"a","value":"2"}'])
    expect(human.stdout).toMatch(/event Updated \{"key":"a","value":"2"\}/)
    await t.json(['call', 'notes', 'set', '--args', '{"key":"b","value":"x"}'])
    expect((await t.cli(['call', 'notes', 'get', '--args', '{"key":"a"}'])).stdout.trim()).toBe('2')
    const entries = await t.json(['call', 'notes', 'entries'])
    expect(entries).toMatchObject({ result: { a: '2', b: 'x' }, readOnly: true, deltaId: null })
    expect((await t.json(['call', 'notes', 'len'])).result).toBe(2)
    const removed = await t.json(['call', 'notes', 'remove', '--args', '{"key":"b"}'])
    expect(removed.events).toEqual([{ kind: 'Removed', data: { key: 'b' } }])
    expect((await t.json(['call', 'notes', 'entries'])).result).toEqual({ a: '2' })
    expect((await t.json(['context', 'get', 'notes'])).rootHash).toBe(removed.rootHash)
  })

  it('a failing call is a clean typed error and changes nothing', async () => {
    const before = (await t.json(['context', 'get', 'notes'])).rootHash
    const unknown = await t.cli(['call', 'notes', 'frobnicate', '--json'])
    expect(unknown.code).toBe(1)
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ kind: 'MethodNotFound', message: expect.stringMatching(/no method 'frobnicate'/) })
    const bad = await t.cli(['call', 'notes', 'set', '--args', '{nope', '--json'])
    expect(bad.code).toBe(2)
    const badName = await t.cli(['call', 'notes', 'x-y', '--json'])
    expect(JSON.parse(badName.stdout).error.kind).toBe('InvalidParams')
    expect((await t.json(['context', 'get', 'notes'])).rootHash).toBe(before)
  })

  it('state survives a daemon restart with the same root hash', async () => {
    const before = await t.json(['context', 'get', 'notes'])
    await t.json(['node', 'restart'])
    const after = await t.json(['context', 'get', 'notes'])
    expect(after.rootHash).toBe(before.rootHash)
    expect(after.heads).toEqual(before.heads)
    expect((await t.json(['call', 'notes', 'entries'])).result).toEqual({ a: '2' })
  })

  it('visibility and allowlist go through governance', async () => {
    expect(await t.json(['context', 'set-visibility', 'notes', 'restricted'])).toMatchObject({ contextId, visibility: 'restricted' })
    const someone = toBase58(generateKeyPair().publicKey)
    await t.json(['group', 'add-members', 'team', someone])
    const added = await t.json(['context', 'allowlist', 'add', 'notes', someone])
    expect(added.allowlist).toContain(someone)
    expect((await t.cli(['context', 'allowlist', 'list', 'notes', '--wide'])).stdout).toContain(someone)
    expect((await t.json(['context', 'allowlist', 'remove', 'notes', someone])).allowlist).not.toContain(someone)
    expect((await t.json(['context', 'allowlist', 'list', 'notes'])).visibility).toBe('restricted')
    expect((await t.cli(['context', 'set-visibility', 'notes', 'sideways'])).code).toBe(2)
  })

  it('context watch streams the context events caused by calls', async () => {
    const watcher = spawn(process.execPath, [MEROCTL, 'context', 'watch', 'notes', '--json', '--count', '1', '--home', t.home], { env: { ...process.env, NO_COLOR: '1' } })
    let out = ''
    watcher.stdout.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((r) => watcher.on('exit', r))
    try {
      await new Promise((r) => setTimeout(r, 1500))
      await t.json(['call', 'notes', 'set', '--args', '{"key":"w","value":"1"}'])
      await waitFor(() => out.includes('\n'), 10_000)
      expect(JSON.parse(out.trim())).toMatchObject({ type: 'context.state.mutated', contextId, events: [{ kind: 'Inserted', data: { key: 'w', value: '1' } }] })
      expect(await exited).toBe(0)
    } finally {
      watcher.kill()
    }
  })

  it('group upgrade moves each context to the target application on its next execution', async () => {
    // the same module with another id is a different application
    const other = await t.json(['app', 'install', join(ROOT, 'apps/kv-store/build/kv-store.wasm')])
    expect(other.applicationId).toBe(appId) // content-addressed: installing twice is one app
    expect(await t.json(['group', 'upgrade', 'team', '--app', appId])).toMatchObject({ targetApplication: appId })
    expect((await t.json(['context', 'get', 'notes'])).pendingUpgrade).toBeNull()
    expect((await t.json(['context', 'update', 'notes', '--app', 'kv'])).applicationId).toBe(appId)
    const refused = await t.cli(['app', 'uninstall', 'kv', '--yes', '--json'])
    expect(JSON.parse(refused.stdout).error).toMatchObject({ kind: 'ApplicationInUse' })
  })

  it('detach-context and delete', async () => {
    const c = await t.json(['context', 'create', '--group', 'team', '--app', 'kv'])
    expect(await t.json(['group', 'detach-context', 'team', c.contextId])).toMatchObject({ contextId: c.contextId })
    const gone = await t.cli(['call', c.contextId, 'len', '--json'])
    expect(JSON.parse(gone.stdout).error.message).toMatch(/no longer registered/)
    expect((await t.cli(['context', 'delete', c.contextId, '--json'])).code).toBe(2)
    expect(await t.json(['context', 'delete', c.contextId, '--yes'])).toEqual({ contextId: c.contextId, deleted: true })
    expect(JSON.parse((await t.cli(['context', 'get', c.contextId, '--json'])).stdout).error.kind).toBe('ContextNotFound')
  })
})
