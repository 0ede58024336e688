import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { BlobProviders } from '../../../src/core/blobs/blob-providers.js'
import { RemoteDeltas } from '../../../src/core/context/remote-deltas.js'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore, MAX_PENDING_PER_GROUP } from '../../../src/core/governance/group-store.js'
import type { MeroNode } from '../../../src/core/node/node.js'
import { peerIdFromPublicKey } from '../../../src/core/primitives/ids.js'
import { toBase58 } from '../../../src/core/primitives/encoding.js'
import { ContextReplicator } from '../../../src/core/sync/context-replicator.js'
import { sealContextMessage } from '../../../src/core/sync/sealed-topics.js'
import { contextTopic, encodeTopicMessage } from '../../../src/core/sync/wire.js'
import { MemoryProviders } from '../../helpers/memory-node-network.js'
import { MemoryHub } from '../../helpers/memory-network.js'
import { networkedNode, stopNetworkedNodes } from '../../helpers/networked-node.js'
import { authored, closeNodes, newNode, sharedContext } from '../context/helpers.js'
import { ensureBuilt } from '../runtime/fixtures.js'
import { viewOf } from '../governance/helpers.js'

/**
 * The bounds on what a node holds for others: ops and deltas waiting for their parents (oldest
 * evicted first, sync repairs), and received deltas waiting to be applied (overflow dropped as
 * queue_full, sync repairs). Through GroupStore, RemoteDeltas and ContextReplicator.
 */
beforeAll(() => ensureBuilt(), 120_000)
afterEach(async () => {
  await stopNetworkedNodes()
  await closeNodes()
})

describe('pending caps', () => {
  it(`a group keeps at most ${MAX_PENDING_PER_GROUP} ops waiting for parents, evicting the oldest; the evicted op, delivered again, releases the rest`, () => {
    const owner = generateKeyPair()
    const source = new GroupStore()
    const { groupId, op: genesis } = source.createGroup(owner)
    const chain = Array.from({ length: MAX_PENDING_PER_GROUP + 2 }, (_, i) => source.issue(groupId, owner, { kind: 'GroupAliasSet', alias: `a${i}` }))
    const store = new GroupStore()
    store.ingest([genesis.bytes])
    // every op but the first arrives: each waits for the one before it
    const parked = store.ingest(chain.slice(1).map((o) => o.bytes))
    expect(parked.every((r) => r.status === 'pending')).toBe(true)
    expect(store.pendingCount(groupId)).toBe(MAX_PENDING_PER_GROUP)
    // one more than fits: the oldest was evicted, and counted (merod_pending_evicted{queue="group_ops"})
    expect(store.pendingEvicted).toBe(1)
    expect(store.pendingTotal).toBe(MAX_PENDING_PER_GROUP)
    // the first arrives: it applies, but the one after it was evicted (the oldest waiting)
    expect(store.ingest([chain[0]!.bytes])[0]!.status).toBe('applied')
    expect(viewOf(store, groupId).opCount).toBe(2)
    expect(store.pendingCount(groupId)).toBe(MAX_PENDING_PER_GROUP)
    // delivered again (as sync fetches it), the evicted op releases everything behind it
    expect(store.ingest([chain[1]!.bytes])[0]!.status).toBe('applied')
    expect(store.pendingCount(groupId)).toBe(0)
    expect(viewOf(store, groupId).stateHash).toBe(viewOf(source, groupId).stateHash)
  })

  it('a context keeps at most maxPending deltas waiting, evicting the oldest and counting it; the evicted one, delivered again, releases the rest', async () => {
    const a = await newNode()
    const b = await newNode()
    const { contextId } = await sharedContext(a, b)
    for (let i = 0; i < 8; i++) await a.contexts.execute(contextId, 'set', { key: `k${i}`, value: `${i}` })
    const deltas = authored(a, contextId) // init, then the 8 sets, parents first
    // B's receiving side with room for 4 waiting deltas
    const remote = new RemoteDeltas({ contexts: b.contexts, groups: b.groups, events: b.contexts.events, checkClock: (hlc) => b.contexts.checkClock(hlc), maxPending: 4 })
    remote.receive(contextId, [deltas[0]!])
    // the 7 after the first set arrive without it: 4 wait, the 3 oldest are evicted
    expect(remote.receive(contextId, deltas.slice(2)).map((r) => r.status)).toEqual(Array(7).fill('pending'))
    expect(remote.pendingCount(contextId)).toBe(4)
    expect(remote.pendingTotal).toBe(4)
    expect(remote.evicted).toBe(3)
    // the missing one applies; the next three were evicted, so the 4 waiting still wait
    expect(remote.receive(contextId, [deltas[1]!])[0]!.status).toBe('applied')
    expect(remote.pendingCount(contextId)).toBe(4)
    expect(remote.missing(contextId).map((id) => id.toString('hex'))).toEqual([deltas[4]!.id.toString('hex')])
    // sync brings the evicted ones again: everything applies
    remote.receive(contextId, deltas.slice(2, 5))
    expect(remote.pendingCount(contextId)).toBe(0)
    expect(b.contexts.require(contextId).rootHash.toString('hex')).toBe(a.contexts.require(contextId).rootHash.toString('hex'))
  })
})

describe('inbound queue', () => {
  it('deltas beyond the inbound queue in one turn are dropped as queue_full, and a sync with their sender brings them', async () => {
    const hub = new MemoryHub()
    const providers = new MemoryProviders()
    const { node: a, network: aNet } = await networkedNode(hub, providers)
    // C: a node whose replicator has room for 3 queued deltas
    const c: MeroNode = await newNode()
    const { contextId } = await sharedContext(a, c)
    const meta = a.contexts.require(contextId)
    c.remoteDeltas.receive(contextId, authored(a, contextId))
    const net = hub.peer(peerIdFromPublicKey(c.identity.publicKey))
    const rep = new ContextReplicator(
      {
        contexts: c.contexts,
        remote: c.remoteDeltas,
        groups: c.groups,
        identity: c.identity,
        network: net,
        issuer: { issue: (g, op) => c.issueGroupOp(g, op) },
        applications: c.applications,
        blobProviders: new BlobProviders({ blobs: c.blobs, groups: c.groups, identity: c.identity, network: net, routing: providers.routing(net.peerId) }),
      },
      { heartbeatMs: 60_000, syncTimeoutMs: 2_000, inboundQueue: 3 },
    )
    rep.start()
    try {
      // five deltas of A's, gossiped to C in one turn (written while A's own gossip is off)
      const before = authored(a, contextId).length
      aNet.peer.online = false
      for (let i = 0; i < 5; i++) await a.contexts.execute(contextId, 'set', { key: `burst-${i}`, value: `${i}` })
      aNet.peer.online = true
      const burst = authored(a, contextId).slice(before)
      expect(burst).toHaveLength(5)
      const key = a.groups.keyAt(meta.groupId, contextId.toString('hex'))
      if (key.status !== 'ok') throw new Error('A holds the key')
      const topic = contextTopic(toBase58(meta.contextId))
      for (const v of burst) net.deliver({ topic, from: a.peerId, data: encodeTopicMessage(sealContextMessage(contextId, key, { type: 'Deltas', deltas: [v.wire] })) })
      // the first applies at once, three wait in the queue, the fifth has no room
      expect(rep.dropped.queue_full).toBe(1)
      // the queue drains on the next turn; the overflow makes C sync with the sender
      await vi.waitFor(() => expect(c.contexts.require(contextId).rootHash.toString('hex')).toBe(a.contexts.require(contextId).rootHash.toString('hex')), { timeout: 10_000, interval: 20 })
      expect(rep.status(contextId).lastSync).toMatchObject({ ok: true, peerId: a.peerId, fetched: 1 })
    } finally {
      rep.stop()
    }
  })
})
