import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MeroNode } from '../../../src/core/node/node.js'
import { fromBase58, toBase58 } from '../../../src/core/primitives/encoding.js'
import { contextMetaJson } from '../../../src/core/context/context-meta.js'
import { ensureBuilt, fixture, kvStoreWasm } from '../runtime/fixtures.js'
import { authored, closeNodes, newNode } from './helpers.js'
import { viewOf } from '../governance/helpers.js'

/**
 * Calls that reach a context in the same turn of the event loop commit as one delta (context
 * manager, `coalesceCalls`): each sees the writes of the calls before it, a failing one takes back
 * only its own, and every caller is answered with the delta once it is written.
 */
afterEach(closeNodes)

async function contextWith(n: MeroNode, wasm: Buffer): Promise<Buffer> {
  const app = await n.applications.install(wasm)
  const groupId = n.createGroup()
  const meta = await n.contexts.create(groupId, fromBase58(app.applicationId, 'application id', 32), {})
  return meta.contextId
}

/** Runs the calls in one turn (none awaited before the next starts); their settled outcomes. */
function together(n: MeroNode, ctx: Buffer, calls: [string, unknown][]) {
  return Promise.allSettled(calls.map(([method, args]) => n.contexts.execute(ctx, method, args)))
}

describe('calls that commit together', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('16 sets in one turn: one delta, every caller answered with it and the root hash after it', async () => {
    const n = await newNode()
    const ctx = await contextWith(n, kvStoreWasm())
    const before = n.contexts.require(ctx).deltas
    const out = await Promise.all(Array.from({ length: 16 }, (_, i) => n.contexts.execute(ctx, 'set', { key: `k${i}`, value: `v${i}` })))
    const meta = contextMetaJson(n.contexts.require(ctx))
    expect(meta.deltas).toBe(before + 1)
    expect(new Set(out.map((r) => r.deltaId))).toEqual(new Set([meta.heads[0]]))
    expect(new Set(out.map((r) => r.rootHash))).toEqual(new Set([meta.rootHash]))
    expect(meta.rootHash).toBe(n.contexts.state(ctx).rootHash().toString('hex'))
    // each call keeps its own events; the delta carries them all, in call order
    expect(out.map((r) => r.events)).toEqual(Array.from({ length: 16 }, (_, i) => [{ kind: 'Inserted', data: { key: `k${i}`, value: `v${i}` } }]))
    const [delta] = authored(n, ctx).slice(-1)
    expect(delta!.delta.actions).toHaveLength(16)
    expect(delta!.events.map((e) => (e.data as { key: string }).key)).toEqual(out.map((_, i) => `k${i}`))
    expect((await n.contexts.execute(ctx, 'len', {})).result).toBe(16)
    expect(n.contexts.stats).toEqual({ calls: 1 + 16, deltas: 1 + 1 }) // init, then the 16 sets
  })

  it('a delta of one turn takes at most 64 calls, and about 128 KiB of writes: the calls after them go into the next', async () => {
    const n = await newNode()
    const ctx = await contextWith(n, kvStoreWasm())
    let before = n.contexts.require(ctx).deltas
    const many = await Promise.all(Array.from({ length: 100 }, (_, i) => n.contexts.execute(ctx, 'set', { key: `k${i}`, value: `v${i}` })))
    expect(n.contexts.require(ctx).deltas).toBe(before + 2)
    expect(new Set(many.slice(0, 64).map((r) => r.deltaId)).size).toBe(1)
    expect(new Set(many.slice(64).map((r) => r.deltaId)).size).toBe(1)
    expect(many[64]!.deltaId).not.toBe(many[0]!.deltaId)

    before = n.contexts.require(ctx).deltas
    const big = 'x'.repeat(10_000) // with its event, which repeats the value, ~20 KB a call: 7 reach the cap
    await Promise.all(Array.from({ length: 16 }, (_, i) => n.contexts.execute(ctx, 'set', { key: `big${i}`, value: big })))
    expect(n.contexts.require(ctx).deltas).toBe(before + 3)
    for (const d of authored(n, ctx).slice(-3)) expect(d.wire.payload.length).toBeLessThan(200 * 1024)
    expect((await n.contexts.execute(ctx, 'len', {})).result).toBe(116)
  })

  it('a call whose delta no peer could fetch (past one sync frame) is refused and writes nothing; the calls beside it commit', async () => {
    for (const coalesceCalls of [true, false]) {
      const n = await newNode({ coalesceCalls })
      const ctx = await contextWith(n, fixture('as-edge-cases'))
      const before = n.contexts.require(ctx)
      const [small, big] = await together(n, ctx, [
        ['put', { key: 'small', value: '1' }],
        ['fill', { key: 'huge', bytes: 8 * 1024 * 1024 }],
      ])
      expect(small!.status, `coalesceCalls ${coalesceCalls}`).toBe('fulfilled')
      expect(big).toMatchObject({ status: 'rejected', reason: { kind: 'LimitExceeded' } })
      expect((big as PromiseRejectedResult).reason.message).toMatch(/a delta of about \d+ bytes, more than the \d+ a delta may have to reach the other members/)
      expect(n.contexts.require(ctx).deltas).toBe(before.deltas + 1)
      expect((await n.contexts.execute(ctx, 'read_key', { key: 'huge' })).result).toBeNull()
      expect((await n.contexts.execute(ctx, 'read_key', { key: 'small' })).result).toBe('1')
    }
  }, 60_000)

  it('an init whose delta no peer could fetch fails before the context is registered in the group', async () => {
    const n = await newNode()
    const app = await n.applications.install(fixture('as-edge-cases'))
    const groupId = n.createGroup()
    const appId = fromBase58(app.applicationId, 'application id', 32)
    const err = await n.contexts.create(groupId, appId, { fill: 8 * 1024 * 1024 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ kind: 'LimitExceeded' })
    expect(viewOf(n.groups, groupId).contexts).toEqual([])
    expect(n.contexts.list(groupId)).toEqual([])
    const ok = await n.contexts.create(groupId, appId, { fill: 1024 })
    expect(ok.deltas).toBe(1)
    expect(viewOf(n.groups, groupId).contexts.map((c) => c.contextId)).toEqual([toBase58(ok.contextId)])
  }, 60_000)

  it('a call sees the writes of the calls before it in the same turn, a read-only one too', async () => {
    const n = await newNode()
    const ctx = await contextWith(n, kvStoreWasm())
    const [first, second, read] = await together(n, ctx, [
      ['set', { key: 'a', value: '1' }],
      ['set', { key: 'a', value: '2' }],
      ['get', { key: 'a' }],
    ])
    expect(first).toMatchObject({ status: 'fulfilled', value: { events: [{ kind: 'Inserted' }] } })
    expect(second).toMatchObject({ status: 'fulfilled', value: { events: [{ kind: 'Updated' }] } })
    expect(read).toMatchObject({ status: 'fulfilled', value: { result: '2', readOnly: true, deltaId: null } })
    expect((await n.contexts.execute(ctx, 'get', { key: 'a' })).result).toBe('2')
  })

  it('a failing call takes back its own writes only; the others commit', async () => {
    const n = await newNode()
    const ctx = await contextWith(n, fixture('as-edge-cases'))
    const before = n.contexts.require(ctx)
    const out = await together(n, ctx, [
      ['put', { key: 'a', value: '1' }],
      ['fail_politely', {}], // writes k, then returns an error
      ['read_key', { key: 'k' }],
      ['put', { key: 'b', value: '2' }],
      ['assert_fails', {}], // writes k, then traps
      ['read_key', { key: 'a' }],
    ])
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(out[1]).toMatchObject({ reason: { kind: 'ExecutionFailed' } })
    expect(out[4]).toMatchObject({ reason: { kind: 'ExecutionFailed' } })
    const ok = out.filter((o) => o.status === 'fulfilled').map((o) => o.value)
    expect(ok.map((r) => r.result)).toEqual([null, null, null, '1'])
    const meta = n.contexts.require(ctx)
    expect(meta.deltas).toBe(before.deltas + 1)
    const [delta] = authored(n, ctx).slice(-1)
    expect(delta!.delta.actions.map((a) => (a.type === 'update' ? a.target.key.toString() : a.type))).toEqual(['a', 'b'])
    expect((await n.contexts.execute(ctx, 'read_key', { key: 'k' })).result).toBeNull()
    expect((await n.contexts.execute(ctx, 'read_key', { key: 'b' })).result).toBe('2')
  })

  it('a turn whose only call fails commits nothing', async () => {
    const n = await newNode()
    const ctx = await contextWith(n, fixture('as-edge-cases'))
    const before = n.contexts.require(ctx)
    const [out] = await together(n, ctx, [['fail_politely', {}]])
    expect(out!.status).toBe('rejected')
    await new Promise((r) => setImmediate(r))
    expect(n.contexts.require(ctx)).toEqual(before)
  })

  it('with coalesceCalls false, each mutating call commits its own delta', async () => {
    const n = await newNode({ coalesceCalls: false })
    const ctx = await contextWith(n, kvStoreWasm())
    const before = n.contexts.require(ctx).deltas
    const out = await Promise.all(Array.from({ length: 5 }, (_, i) => n.contexts.execute(ctx, 'set', { key: `k${i}`, value: `v${i}` })))
    expect(n.contexts.require(ctx).deltas).toBe(before + 5)
    expect(new Set(out.map((r) => r.deltaId)).size).toBe(5)
    // a chain: each call's delta has the one before as its parent (the heads are read after the module loads)
    const chain = authored(n, ctx).slice(-5)
    chain.slice(1).forEach((d, i) => expect(d.delta.parents.map((p) => p.toString('hex'))).toEqual([chain[i]!.id.toString('hex')]))
    expect(n.contexts.require(ctx).heads.map((h) => h.toString('hex'))).toEqual([chain[4]!.id.toString('hex')])
  })
})
