import { describe, expect, it } from 'vitest'
import type { ContextEvents } from '../../../src/core/context/events.js'
import type { GovernanceEvents } from '../../../src/core/governance/events.js'
import { EventBus } from '../../../src/core/node/event-bus.js'
import type { NodeEvent } from '../../../src/core/node/events.js'
import { relayEvents } from '../../../src/core/node/relay.js'
import type { SignedOp } from '../../../src/core/governance/ops.js'
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
    let refused: (e: { peerId: string; protocol: string }) => void = () => undefined
    relayEvents(bus, { governance, contexts, replication: [replication], network: { onPeer: (h) => ((peer = h), () => undefined), onRefused: (h) => ((refused = h), () => undefined) } })
    return { bus, governance, contexts, replication, peer: (e: { peerId: string; connected: boolean }) => peer(e), refused: (e: { peerId: string; protocol: string }) => refused(e) }
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

  it("a peer's refused traffic (rejected gossip, a full queue, a busy protocol), and the context an op is about", () => {
    const r = relayed()
    const seen: NodeEvent[] = []
    r.bus.on((e) => seen.push(e))
    r.replication.emit('message.rejected', { scope: 'group', peerId: 'P', reason: 'bad_signature' })
    r.replication.emit('peer.rate_limited', { peerId: 'Q', what: 'inbound deltas (queue full)', dropped: 40 })
    r.refused({ peerId: 'R', protocol: '/mero/sync/1.0.0' })
    const op = (kind: string, more: object) => ({ id: id(7), signer: id(2), seq: 3n, op: { kind, ...more } }) as unknown as SignedOp
    r.governance.emit('op.applied', { groupId: id(1), op: op('ContextVisibilitySet', { contextId: id(3), visibility: 'open' }) })
    r.governance.emit('op.applied', { groupId: id(1), op: op('GroupAliasSet', { alias: 'team' }) })
    expect(seen).toMatchObject([
      { type: 'message.rejected', peerId: 'P', topic: 'group', reason: 'bad_signature' },
      { type: 'peer.rate_limited', peerId: 'Q', what: 'inbound deltas (queue full)', dropped: 40 },
      { type: 'peer.rate_limited', peerId: 'R', what: '/mero/sync/1.0.0 streams (busy)', dropped: 1 },
      { type: 'group.op.applied', groupId: id(1).toString('hex'), kind: 'ContextVisibilitySet', contextId: toBase58(id(3)), opSeq: 3 },
      { type: 'group.op.applied', kind: 'GroupAliasSet' },
    ])
    expect(seen[4]).not.toHaveProperty('contextId')
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
