import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { EMPTY_ROOT_HASH } from '../../../src/core/state/entity.js'
import { encodeFrame } from '../../../src/core/sync/wire.js'
import { holdFirst, interceptStreams } from '../../helpers/intercept.js'
import { memberBesideContext, networkedNode, stopNetworkedNodes } from '../../helpers/networked-node.js'
import { ensureBuilt } from '../runtime/fixtures.js'

/**
 * Snapshot sync between two MeroNodes in process: C, fresh, joins a context whose history is past
 * its snapshot threshold and takes the entity tree from A, then the deltas after it. What A sends
 * passes through a hook that can cut, falsify or hold the stream (a peer that dies or lies).
 */
beforeAll(() => ensureBuilt(), 120_000)
afterEach(async () => {
  vi.useRealTimers()
  await stopNetworkedNodes()
})

/** A with a context of `writes` deltas (some keys removed again); C a member, fresh, taking snapshots from 10 deltas. */
async function behindSnapshot(writes = 30, c: { maxHeldDeltas?: number } = {}) {
  const setup = await memberBesideContext({ c: { snapshotThreshold: 10, ...c } })
  const { a, contextId } = setup
  for (let i = 0; i < writes; i++) await a.node.contexts.execute(contextId, i % 5 === 4 ? 'remove' : 'set', i % 5 === 4 ? { key: `k${i - 1}` } : { key: `k${i}`, value: `${i}` })
  const sessions: { reason: string }[] = []
  setup.c.node.events.on((e) => void (e.type === 'sync.started' && e.contextId && sessions.push({ reason: e.reason })))
  const root = (n: typeof a) => n.node.contexts.require(contextId).rootHash.toString('hex')
  const fresh = () => {
    const m = setup.c.node.contexts.get(contextId)
    return m === undefined || (m.heads.length === 0 && m.deltas === 0 && m.rootHash.equals(EMPTY_ROOT_HASH))
  }
  return { ...setup, sessions, root, fresh }
}

describe('snapshot sync', () => {
  it('an honest snapshot: C holds A\'s state and root hash, by snapshot, then keeps replicating', async () => {
    const { a, c, contextId, root } = await behindSnapshot()
    expect(await c.node.contextReplicator!.join(contextId)).toMatchObject({ method: 'snapshot' })
    expect(root(c)).toBe(root(a))
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'k3' })).result).toBeNull()
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'k5' })).result).toBe('5')
    // A's next write reaches C by gossip, on top of the snapshot's boundary
    await a.node.contexts.execute(contextId, 'set', { key: 'after', value: 'x' })
    await vi.waitFor(() => expect(root(c)).toBe(root(a)), { timeout: 5_000, interval: 10 })
    await c.node.contexts.execute(contextId, 'set', { key: 'from-c', value: 'y' })
    await vi.waitFor(() => expect(root(a)).toBe(root(c)), { timeout: 5_000, interval: 10 })
  })

  it('a snapshot whose records do not give the root hash the peer announced is refused whole; the retry takes an honest one', async () => {
    const { a, c, contextId, root, fresh } = await behindSnapshot()
    // the first snapshot A sends loses a record on the way (a peer that lies about its state)
    let lied = false
    const undo = interceptStreams(c.network, (f) => {
      if (f.type !== 'SnapshotPage' || lied) return undefined
      lied = true
      return encodeFrame({ ...f, records: f.records.slice(1) })
    })
    const r = c.node.contextReplicator!
    const joined = await r.join(contextId)
    expect(lied).toBe(true)
    expect(joined.method).toBe('none') // the join's session failed; nothing was installed
    expect(fresh()).toBe(true)
    expect(r.status(contextId)).toMatchObject({ failures: 1, lastSync: { ok: false, error: expect.stringMatching(/the snapshot's root hash \w+ is not the peer's/) } })
    undo()
    // the retry (with backoff, no other trigger: heartbeats are a minute apart) gets the real one
    await vi.waitFor(() => expect(root(c)).toBe(root(a)), { timeout: 10_000, interval: 50 })
    expect(r.status(contextId)).toMatchObject({ failures: 0, lastSync: { ok: true, method: 'snapshot' } })
  })

  it('a snapshot with a record that does not decode is refused whole, and nothing is written', async () => {
    const { c, contextId, fresh } = await behindSnapshot()
    const undo = interceptStreams(c.network, (f) => (f.type === 'SnapshotPage' ? encodeFrame({ ...f, records: [Buffer.from('not an entity'), ...f.records] }) : undefined))
    await c.node.contextReplicator!.join(contextId)
    undo()
    expect(fresh()).toBe(true)
    expect(c.node.contextReplicator!.status(contextId)).toMatchObject({ failures: 1, lastSync: { ok: false, error: expect.stringMatching(/snapshot record/) } })
  })

  it('a snapshot cut off mid-way leaves the context fresh; the retry completes it', async () => {
    const { a, c, contextId, root, fresh } = await behindSnapshot()
    // the peer goes away after announcing the snapshot's boundary, before its pages
    let cut = false
    let heads = 0
    const undo = interceptStreams(c.network, (f) => {
      // the first ContextHeads answers the heads request; the second is the snapshot's boundary
      if (cut || f.type !== 'ContextHeads' || ++heads < 2) return undefined
      cut = true
      return 'close'
    })
    await c.node.contextReplicator!.join(contextId)
    expect(cut).toBe(true)
    expect(fresh()).toBe(true)
    expect(c.node.contextReplicator!.status(contextId)).toMatchObject({ failures: 1, lastSync: { ok: false } })
    undo()
    await vi.waitFor(() => expect(root(c)).toBe(root(a)), { timeout: 10_000, interval: 50 })
  })

  it('deltas that arrive while a snapshot is being taken are held, then applied on top of it', async () => {
    const { a, c, contextId, root, sessions } = await behindSnapshot()
    // A's pages are held back until A has written again and its gossip has reached C
    const { held, release } = holdFirst(c.network, 'SnapshotPage')
    const joining = c.node.contextReplicator!.join(contextId)
    await vi.waitFor(() => expect(held()).toBe(true), { timeout: 5_000, interval: 10 })
    const received = c.node.contextReplicator!.received
    await a.node.contexts.execute(contextId, 'set', { key: 'during', value: 'the snapshot' })
    await vi.waitFor(() => expect(c.node.contextReplicator!.received).toBe(received + 1), { timeout: 5_000, interval: 10 })
    expect((c.node.contexts.get(contextId)?.deltas ?? 0)).toBe(0) // held, not applied: there is no state yet
    release()
    // one session, by snapshot only (the write came after its boundary, and not by a later fetch)
    expect(await joining).toMatchObject({ method: 'snapshot' })
    expect(sessions).toHaveLength(1)
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'during' })).result).toBe('the snapshot')
    expect(root(c)).toBe(root(a))
    expect(c.node.remoteDeltas.pendingCount(contextId)).toBe(0)
  })

  it('deltas past the bound of what is held during a snapshot are dropped and counted, and a sync after it brings them', async () => {
    const { a, c, contextId, root } = await behindSnapshot(30, { maxHeldDeltas: 1 })
    const { held, release } = holdFirst(c.network, 'SnapshotPage')
    const joining = c.node.contextReplicator!.join(contextId)
    await vi.waitFor(() => expect(held()).toBe(true), { timeout: 5_000, interval: 10 })
    const received = c.node.contextReplicator!.received
    for (let i = 0; i < 3; i++) {
      await a.node.contexts.execute(contextId, 'set', { key: `during-${i}`, value: `${i}` })
      await vi.waitFor(() => expect(c.node.contextReplicator!.received).toBe(received + i + 1), { timeout: 5_000, interval: 10 })
    }
    // one held, two dropped (and counted, for merod_context_deltas_dropped{reason="held_full"})
    expect(c.node.contextReplicator!.dropped.held_full).toBe(2)
    release()
    expect(await joining).toMatchObject({ method: 'snapshot' })
    // the held one waits for the two dropped before it; the sync scheduled after the snapshot fetches them
    await vi.waitFor(() => expect(root(c)).toBe(root(a)), { timeout: 10_000, interval: 20 })
    for (let i = 0; i < 3; i++) expect((await c.node.contexts.execute(contextId, 'get', { key: `during-${i}` })).result).toBe(`${i}`)
    expect(c.node.remoteDeltas.pendingCount(contextId)).toBe(0)
  })

  it('a delta of a branch older than the snapshot, arriving after it, brings back nothing the snapshot had removed', async () => {
    const { hub, providers, a, c, groupId, contextId, root } = await behindSnapshot(0)
    // B joins early and holds x; then, offline, it writes on its own branch
    const b = await networkedNode(hub, providers)
    await a.node.issueGroupOp(groupId, { kind: 'MemberAdded', member: b.node.identity.publicKey, role: 'member' })
    const shareGroup = () => {
      for (const n of [b, c]) n.node.groups.ingest(a.node.groups.getOps(groupId, a.node.groups.ops(groupId).map((o) => o.opId)))
      for (const n of [a, c]) n.node.groups.ingest(b.node.groups.getOps(groupId, b.node.groups.ops(groupId).map((o) => o.opId)))
    }
    shareGroup()
    await a.node.contexts.execute(contextId, 'set', { key: 'x', value: 'early' })
    await b.node.contextReplicator!.join(contextId)
    expect((await b.node.contexts.execute(contextId, 'get', { key: 'x' })).result).toBe('early')
    b.network.peer.online = false
    await b.node.contexts.execute(contextId, 'set', { key: 'from-b', value: 'offline' })
    // meanwhile A removes x and writes on, past C's snapshot threshold
    await a.node.contexts.execute(contextId, 'remove', { key: 'x' })
    for (let i = 0; i < 15; i++) await a.node.contexts.execute(contextId, 'set', { key: `later-${i}`, value: `${i}` })
    shareGroup()
    expect(await c.node.contextReplicator!.join(contextId)).toMatchObject({ method: 'snapshot' })
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'x' })).result).toBeNull()
    // B is back: C and A each sync with it; B's branch (and whatever it says of the history
    // before C's snapshot) reaches both
    b.network.peer.online = true
    await c.node.contextReplicator!.catchUp(contextId, b.network.peerId, 'test')
    await a.node.contextReplicator!.catchUp(contextId, b.network.peerId, 'test')
    await c.node.contextReplicator!.catchUp(contextId, a.network.peerId, 'test')
    expect(c.node.remoteDeltas.pendingCount(contextId)).toBe(0)
    expect((await a.node.contexts.execute(contextId, 'get', { key: 'from-b' })).result).toBe('offline')
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'from-b' })).result).toBe('offline')
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'x' })).result).toBeNull()
    expect(root(c)).toBe(root(a))
  })
})
