import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { MEROCTL, ROOT, TestHome, waitFor } from '../helpers/harness.js'
import { ensureBuilt, fixturePath } from '../core/runtime/fixtures.js'

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
    const rpc = t.rpc()
    try {
      // the watcher's /events stream is open (the daemon counts its subscribers) before the call
      await waitFor(async () => /^merod_event_subscribers 1$/m.test(await rpc.get('/metrics')), 15_000, 50)
      await t.json(['call', 'notes', 'set', '--args', '{"key":"w","value":"1"}'])
      await waitFor(() => out.includes('\n'), 10_000)
      expect(JSON.parse(out.trim())).toMatchObject({ type: 'context.state.mutated', contextId, events: [{ kind: 'Inserted', data: { key: 'w', value: '1' } }] })
      expect(await exited).toBe(0)
    } finally {
      rpc.close()
      watcher.kill()
    }
  })

  it('group upgrade moves each context to the target application on its next execution, with its state', async () => {
    // kv-store's next version: other bytes, so another application, over the same state
    await ensureBuilt()
    const v2 = await t.json(['app', 'install', fixturePath('kv-store-v2')])
    expect(v2.applicationId).not.toBe(appId)
    const again = await t.json(['app', 'install', KV])
    expect(again.applicationId).toBe(appId) // content-addressed: installing twice is one app
    const before = await t.json(['context', 'get', 'notes'])
    expect(before).toMatchObject({ applicationId: appId, pendingUpgrade: null })
    expect(JSON.parse((await t.cli(['call', 'notes', 'version', '--json'])).stdout).error.kind).toBe('MethodNotFound')

    expect(await t.json(['group', 'upgrade', 'team', '--app', v2.applicationId])).toMatchObject({ targetApplication: v2.applicationId })
    // lazily: the context says where it is going, and moves on its next execution
    expect(await t.json(['context', 'get', 'notes'])).toMatchObject({ applicationId: appId, pendingUpgrade: v2.applicationId })
    expect((await t.cli(['context', 'get', 'notes'])).stdout).toMatch(new RegExp(`upgrade to\\s+${v2.applicationId}`))
    // the new code answers, over the state the first version wrote (init's version record, the entries)
    expect((await t.json(['call', 'notes', 'version'])).result).toEqual({ code: '2', stored: '1' })
    expect((await t.json(['call', 'notes', 'entries'])).result).toEqual({ a: '2', w: '1' })
    const after = await t.json(['context', 'get', 'notes'])
    expect(after).toMatchObject({ applicationId: v2.applicationId, pendingUpgrade: null, rootHash: before.rootHash })
    // the old application is no longer in use by this context; the new one is
    const refused = await t.cli(['app', 'uninstall', v2.applicationId, '--yes', '--json'])
    expect(JSON.parse(refused.stdout).error).toMatchObject({ kind: 'ApplicationInUse' })
    // context update moves it explicitly (back to the first version here)
    expect((await t.json(['context', 'update', 'notes', '--app', 'kv'])).applicationId).toBe(appId)
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
