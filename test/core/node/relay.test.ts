import { describe, expect, it } from 'vitest'
import type { ContextEvents } from '../../../src/core/context/events.js'
import type { GovernanceEvents } from '../../../src/core/governance/events.js'
import { EventBus } from '../../../src/core/node/event-bus.js'
import type { NodeEvent } from '../../../src/core/node/events.js'
import { relayEvents } from '../../../src/core/node/relay.js'
import { Emitter } from '../../../src/core/primitives/emitter.js'
import { toBase58 } from '../../../src/core/primitives/encoding.js'
import type { ReplicationEvents } from '../../../src/core/sync/events.js'

describe('the node relays its parts events to the public stream', () => {
  const id = (n: number) => Buffer.alloc(32, n)

  function relayed() {
    const bus = new EventBus()
    const governance = new Emitter<GovernanceEvents>()
    const contexts = new Emitter<ContextEvents>()
    const replication = new Emitter<ReplicationEvents>()
    let peer: (e: { peerId: string; connected: boolean }) => void = () => undefined
    relayEvents(bus, { governance, contexts, replication: [replication], network: { onPeer: (h) => ((peer = h), () => undefined) } })
    return { bus, governance, contexts, replication, peer: (e: { peerId: string; connected: boolean }) => peer(e) }
  }

  it('with ids in their string forms: groups in hex, identities and contexts in base58', () => {
    const r = relayed()
    const seen: NodeEvent[] = []
    r.bus.on((e) => seen.push(e))
    r.governance.emit('member.added', { groupId: id(1), identity: id(2), role: 'member' })
    r.replication.emit('sync.finished', { scope: 'context', id: id(3), peerId: 'P', ok: true, fetched: 2, durationMs: 5, method: 'deltas' })
    r.contexts.emit('deleted', { contextId: id(3) })
    r.peer({ peerId: 'P', connected: true })
    r.peer({ peerId: 'P', connected: false })
    expect(seen).toMatchObject([
      { type: 'group.member.added', groupId: id(1).toString('hex'), identity: toBase58(id(2)), role: 'member' },
      { type: 'sync.finished', contextId: toBase58(id(3)), peerId: 'P', ok: true, fetched: 2, durationMs: 5, method: 'deltas' },
      { type: 'context.deleted', contextId: toBase58(id(3)) },
      { type: 'peer.connected', peerId: 'P' },
      { type: 'peer.disconnected', peerId: 'P' },
    ])
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
  })

  it('builds nothing while nobody reads the stream', () => {
    const r = relayed()
    r.governance.emit('group.deleted', { groupId: id(1) })
    r.peer({ peerId: 'P', connected: true })
    const seen: NodeEvent[] = []
    r.bus.on((e) => seen.push(e))
    r.governance.emit('group.deleted', { groupId: id(1) })
    expect(seen).toMatchObject([{ type: 'group.deleted', seq: 1 }])
  })
})
