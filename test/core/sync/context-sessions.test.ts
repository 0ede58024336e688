import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { VerifierPool } from '../../../src/core/crypto/verifier-pool.js'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { ContextSyncClient } from '../../../src/core/sync/context-sync.js'
import { memberAuth } from '../../../src/core/governance/stream-auth.js'
import { SYNC_PROTOCOL } from '../../../src/core/sync/wire.js'
import { holdFirst, interceptStreams } from '../../helpers/intercept.js'
import { memberBesideContext, type networkedNode, stopNetworkedNodes } from '../../helpers/networked-node.js'
import { ensureBuilt } from '../runtime/fixtures.js'

/**
 * Context sync sessions between two MeroNodes in process, one at a time per context: a failed
 * session is tried again by itself; a sync asked for, a join or a forced sync while one runs
 * waits for it instead of being dropped or failing beside it.
 */
beforeAll(() => ensureBuilt(), 120_000)
afterEach(async () => {
  vi.useRealTimers()
  await stopNetworkedNodes()
})

async function joined() {
  const { a, c, contextId } = await memberBesideContext()
  await c.node.contextReplicator!.join(contextId)
  const get = async (n: typeof a, key: string) => (await n.node.contexts.execute(contextId, 'get', { key })).result
  return { a, c, contextId, get }
}

/** `n` writes on `a` while it is offline, once their publishing (dropped) is done. */
async function writeUnheard(a: Awaited<ReturnType<typeof networkedNode>>, contextId: Buffer, n: number, from = 0) {
  const before = a.node.contextReplicator!.published
  for (let i = from; i < from + n; i++) await a.node.contexts.execute(contextId, 'set', { key: `k${i}`, value: `${i}` })
  await vi.waitFor(() => expect(a.node.contextReplicator!.published).toBe(before + n), { timeout: 2_000, interval: 5 })
}

describe('context sync sessions', () => {
  it('a session with a peer that does not hold the context is no failure: not counted, not retried, not the last sync', async () => {
    const { a, c, contextId } = await memberBesideContext() // c is a member of the group, not of the context
    const finished: unknown[] = []
    const started: unknown[] = []
    a.node.events.on((e) => void (e.type === 'sync.finished' && e.contextId && finished.push(e)))
    a.node.events.on((e) => void (e.type === 'sync.started' && e.contextId && started.push(e)))
    const r = a.node.contextReplicator!
    // a retry would be a timer: with the clock in the test's hands, every timer can be run out
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    await expect(r.catchUp(contextId, c.network.peerId, 'peer connected')).rejects.toMatchObject({ kind: 'ContextNotFound', message: 'the peer does not hold the context' })
    expect(r.status(contextId)).toEqual({ syncing: false, peers: 0, pendingDeltas: 0, failures: 0 })
    expect(finished).toEqual([expect.objectContaining({ ok: true, fetched: 0, method: 'none', skipped: 'the peer does not hold the context' })])
    vi.advanceTimersByTime(60_000) // a session starts synchronously when its timer fires
    vi.useRealTimers()
    expect(started).toHaveLength(1)
    expect(finished).toHaveLength(1)
    // once c holds it, a session with c is a sync like any other
    await c.node.contextReplicator!.join(contextId)
    await expect(r.catchUp(contextId, c.network.peerId, 'test')).resolves.toEqual({ fetched: 0, method: 'none' })
    expect(r.status(contextId)).toMatchObject({ failures: 0, lastSync: { ok: true, peerId: c.network.peerId } })
  })

  it('a session that fails (peer unreachable) is retried with backoff, with no other trigger', async () => {
    const { a, c, contextId, get } = await joined()
    a.network.peer.online = false // its writes are not gossiped, and C cannot reach it
    await writeUnheard(a, contextId, 3)
    await expect(c.node.contextReplicator!.catchUp(contextId, a.network.peerId, 'test')).rejects.toThrow(/unreachable/)
    expect(c.node.contextReplicator!.status(contextId)).toMatchObject({ failures: 1, lastSync: { ok: false } })
    a.network.peer.online = true
    // heartbeats are a minute apart: only the retry (400 ms later) can bring the writes over
    await vi.waitFor(async () => expect(await get(c, 'k2')).toBe('2'), { timeout: 5_000, interval: 50 })
    expect(c.node.contextReplicator!.status(contextId)).toMatchObject({ failures: 0, lastSync: { ok: true, method: 'deltas', fetched: 3 } })
  })

  it('a sync asked for while a session runs is held until that session is over, then runs if still wanted', async () => {
    const { a, c, contextId } = await joined()
    const started: string[] = []
    // the context's sessions (the group's own, such as fetching the topic key, run beside them)
    c.node.events.on((e) => void (e.type === 'sync.started' && e.contextId && started.push(e.reason)))
    const r = c.node.contextReplicator!
    const running = r.catchUp(contextId, a.network.peerId, 'first')
    r.schedule(contextId, a.network.peerId, 'asked during the first', 0)
    await running
    await vi.waitFor(() => expect(started).toEqual(['first', 'asked during the first']), { timeout: 2_000, interval: 10 })
    // one whose reason is gone by then does not run
    let wanted = true
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const second = r.catchUp(contextId, a.network.peerId, 'second')
    r.schedule(contextId, a.network.peerId, 'no longer wanted', 0, () => wanted)
    wanted = false
    await second
    // its timer fires, finds the session running, waits for it, then finds the reason gone
    let asked = false
    r.schedule(contextId, a.network.peerId, 'the probe', 0, () => (asked = true) && false)
    await vi.waitFor(async () => {
      await vi.advanceTimersByTimeAsync(1_000)
      expect(asked).toBe(true)
    })
    vi.useRealTimers()
    expect(started).toEqual(['first', 'asked during the first', 'second'])
  })

  it('a join that finds a session running waits for it and reports what it fetched; a forced sync waits, then runs its own', async () => {
    const { a, c, contextId, get } = await joined()
    a.network.peer.online = false
    await writeUnheard(a, contextId, 5)
    a.network.peer.online = true
    const running = c.node.contextReplicator!.catchUp(contextId, a.network.peerId, 'test')
    const join = await c.node.contextReplicator!.join(contextId)
    expect(join).toMatchObject({ fetched: 5, method: 'deltas' })
    expect(await running).toEqual({ fetched: 5, method: 'deltas' })
    expect(await get(c, 'k4')).toBe('4')
    // `context sync` while a session runs: it waits for that one, then syncs again (nothing left)
    const sessions: string[] = []
    c.node.events.on((e) => void (e.type === 'sync.started' ? sessions.push(`start ${e.reason}`) : e.type === 'sync.finished' && e.contextId && sessions.push('end')))
    a.network.peer.online = false
    await writeUnheard(a, contextId, 2, 5)
    a.network.peer.online = true
    const background = c.node.contextReplicator!.catchUp(contextId, a.network.peerId, 'background')
    const forced = await c.node.contextReplicator!.syncNow(contextId)
    expect(forced).toEqual({ peers: 1, fetched: 0, errors: [] })
    expect(await background).toEqual({ fetched: 2, method: 'deltas' })
    expect(sessions).toEqual(['start background', 'end', 'start requested', 'end'])
    // the status keeps the last session, and the last one that fetched something
    expect(c.node.contextReplicator!.status(contextId)).toMatchObject({ lastSync: { ok: true, fetched: 0, method: 'none' }, lastFetch: { ok: true, fetched: 2, method: 'deltas' } })
  })

  it('a catch-up of more than 2,000 deltas starts the verifier pool and verifies the pages on its workers', async () => {
    const pool = new VerifierPool(2)
    try {
      // C takes deltas, not a snapshot, however far behind it is
      const { a, c, contextId } = await memberBesideContext({ c: { verifierPool: pool, snapshotThreshold: 1_000_000 } })
      for (let i = 0; i < 2100; i++) await a.node.contexts.execute(contextId, 'set', { key: `k${i % 100}`, value: `${i}` })
      const held = a.node.contexts.require(contextId).deltas
      expect(held).toBeGreaterThan(2000)
      expect(pool.running).toBe(0)
      expect(await c.node.contextReplicator!.join(contextId)).toMatchObject({ fetched: held, method: 'deltas' })
      expect(c.node.contexts.require(contextId).rootHash.toString('hex')).toBe(a.node.contexts.require(contextId).rootHash.toString('hex'))
      expect(pool.running).toBe(2)
      // every chunk of 32 deltas or more went to the workers: at most one short chunk per page stayed here
      expect(pool.stats.onWorkers + pool.stats.inline).toBe(held)
      expect(pool.stats.onWorkers).toBeGreaterThan(held - 8 * 32)
    } finally {
      await pool.close()
    }
  })

  it('a peer whose stream turns to garbage mid-diff: the pages before are kept, the session fails and its retry brings the rest', async () => {
    const { a, c, contextId } = await memberBesideContext()
    for (let i = 0; i < 300; i++) await a.node.contexts.execute(contextId, 'set', { key: `k${i % 40}`, value: `${i}` })
    let pages = 0
    let corrupted = false
    const undo = interceptStreams(c.network, (f) => {
      if (f.type !== 'Deltas' || ++pages !== 2 || corrupted) return undefined
      corrupted = true
      return Buffer.from([0xff, 1, 2, 3]) // not a frame
    })
    const r = c.node.contextReplicator!
    await r.join(contextId)
    expect(corrupted).toBe(true)
    // the first page (64 deltas, each verified on its own) was applied; then the session failed
    expect(c.node.contexts.require(contextId).deltas).toBe(64)
    expect(r.status(contextId)).toMatchObject({ failures: 1, lastSync: { ok: false, error: expect.stringMatching(/unknown frame tag 255/) } })
    undo()
    await vi.waitFor(() => expect(c.node.contexts.require(contextId).rootHash.toString('hex')).toBe(a.node.contexts.require(contextId).rootHash.toString('hex')), { timeout: 10_000, interval: 50 })
    expect(r.status(contextId)).toMatchObject({ failures: 0, lastSync: { ok: true, method: 'deltas', fetched: 300 + 1 - 64 } })
  })

  it('a peer that goes silent mid-diff: the session gives up at the frame timeout, and is retried', async () => {
    const { a, c, contextId } = await memberBesideContext({ c: { syncTimeoutMs: 300 } })
    for (let i = 0; i < 200; i++) await a.node.contexts.execute(contextId, 'set', { key: `k${i % 40}`, value: `${i}` })
    let pages = 0
    let silent = true
    interceptStreams(c.network, (f) => (silent && f.type === 'Deltas' && ++pages >= 2 ? 'drop' : undefined))
    const r = c.node.contextReplicator!
    await r.join(contextId)
    expect(c.node.contexts.require(contextId).deltas).toBe(64)
    expect(r.status(contextId)).toMatchObject({ failures: 1, lastSync: { ok: false, error: expect.stringMatching(/timeout|timed out/i) } })
    silent = false
    await vi.waitFor(() => expect(c.node.contexts.require(contextId).rootHash.toString('hex')).toBe(a.node.contexts.require(contextId).rootHash.toString('hex')), { timeout: 10_000, interval: 50 })
  })

  it('sync.max_concurrent: a session beyond the bound is refused as busy and runs once the running one is over', async () => {
    const { a, c, groupId, contextId, app } = await memberBesideContext({ c: { maxConcurrentSyncs: 1 } })
    const other = (await a.node.contexts.create(groupId, fromBase58(app.applicationId), {})).contextId
    c.node.groups.ingest(a.node.groups.getOps(groupId, a.node.groups.ops(groupId).map((o) => o.opId)))
    const r = c.node.contextReplicator!
    await r.join(contextId)
    await r.join(other)
    a.network.peer.online = false
    await writeUnheard(a, contextId, 2)
    await writeUnheard(a, other, 2)
    a.network.peer.online = true
    // the first session is held at its first answer
    const { held, release } = holdFirst(c.network, 'ContextHeads')
    const first = r.catchUp(contextId, a.network.peerId, 'first')
    await vi.waitFor(() => expect(held()).toBe(true), { timeout: 5_000, interval: 10 })
    await expect(r.catchUp(other, a.network.peerId, 'second')).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/too many sync sessions/) })
    expect(r.status(other).syncing).toBe(false)
    release()
    expect(await first).toEqual({ fetched: 2, method: 'deltas' })
    // the refused one was kept, and runs once there is room
    await vi.waitFor(async () => expect((await c.node.contexts.execute(other, 'get', { key: 'k1' })).result).toBe('1'), { timeout: 5_000, interval: 20 })
  })

  it('a long reply starts with a small page, each next page twice the size: the requester starts merging early', async () => {
    const { a, c, contextId } = await memberBesideContext()
    for (let i = 0; i < 500; i++) await a.node.contexts.execute(contextId, 'set', { key: `k${i % 50}`, value: `${i}` })
    const held = a.node.contexts.require(contextId).deltas
    const client = await ContextSyncClient.open(await c.network.open(a.network.peerId, SYNC_PROTOCOL), contextId, memberAuth(c.node.identity, a.network.peerId))
    const pages: number[] = []
    const fetched = await client.diff([], (page) => void pages.push(page.length), 10_000)
    await client.close()
    expect(fetched).toBe(held)
    expect(pages).toEqual([64, 128, 256, held - 448])
  })
})

