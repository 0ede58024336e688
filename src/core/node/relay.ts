import type { HandlerEvents } from '../context/event-handlers.js'
import type { ContextEvents } from '../context/events.js'
import type { GovernanceEvents } from '../governance/events.js'
import type { NodeNetwork } from '../network/transport.js'
import type { Emitter } from '../primitives/emitter.js'
import { toBase58 } from '../primitives/encoding.js'
import type { ReplicationEvents } from '../sync/events.js'
import type { EventBus } from './event-bus.js'

/**
 * The node's public event stream is made here from the parts' own events (automerge-repo's Repo
 * subscribing to its subsystems): byte ids become the strings the stream shows (groups and ops
 * in hex, identities and contexts in base58). Nothing is built while nobody reads the stream.
 * Returns the unsubscription.
 */
export interface EventSources {
  governance?: Emitter<GovernanceEvents>
  contexts?: Emitter<ContextEvents>
  handlers?: Emitter<HandlerEvents>
  replication?: Emitter<ReplicationEvents>[]
  network?: Pick<NodeNetwork, 'onPeer' | 'onRefused'>
}

const hex = (b: Buffer) => b.toString('hex')

export function relayEvents(bus: EventBus, s: EventSources): () => void {
  const offs: (() => void)[] = []
  const g = s.governance
  if (g) {
    offs.push(
      g.on('group.created', (e) => bus.listenerCount && bus.emit({ type: 'group.created', groupId: hex(e.groupId), owner: toBase58(e.owner) })),
      g.on('op.applied', ({ groupId, op }) => {
        if (!bus.listenerCount) return
        // an op about a context names it, so that the stream's context filter and the log see it
        const context = 'contextId' in op.op ? { contextId: toBase58(op.op.contextId) } : {}
        bus.emit({ type: 'group.op.applied', groupId: hex(groupId), opId: hex(op.id), kind: op.op.kind, signer: toBase58(op.signer), opSeq: Number(op.seq), ...context })
      }),
      g.on('op.rejected', (e) => bus.listenerCount && bus.emit({ type: 'group.op.rejected', groupId: hex(e.groupId), opId: hex(e.op.id), kind: e.op.op.kind, signer: toBase58(e.op.signer), reason: e.reason })),
      g.on('op.pending', (e) => bus.listenerCount && bus.emit({ type: 'group.op.pending', groupId: hex(e.groupId), opId: hex(e.opId), missing: e.missing })),
      g.on('member.added', (e) => bus.listenerCount && bus.emit({ type: 'group.member.added', groupId: hex(e.groupId), identity: toBase58(e.identity), role: e.role })),
      g.on('member.removed', (e) => bus.listenerCount && bus.emit({ type: 'group.member.removed', groupId: hex(e.groupId), identity: toBase58(e.identity), reason: e.reason })),
      g.on('member.updated', (e) => bus.listenerCount && bus.emit({ type: 'group.member.updated', groupId: hex(e.groupId), identity: toBase58(e.identity), role: e.role, capabilities: e.capabilities })),
      g.on('group.deleted', (e) => bus.listenerCount && bus.emit({ type: 'group.deleted', groupId: hex(e.groupId) })),
      g.on('equivocation', (e) => bus.listenerCount && bus.emit({ type: 'group.equivocation', groupId: hex(e.groupId), signer: toBase58(e.signer), opSeq: Number(e.seq) })),
    )
  }
  const c = s.contexts
  if (c) {
    offs.push(
      c.on('created', ({ meta }) => bus.listenerCount && bus.emit({ type: 'context.created', contextId: toBase58(meta.contextId), groupId: hex(meta.groupId), applicationId: toBase58(meta.applicationId) })),
      c.on('deleted', (e) => bus.listenerCount && bus.emit({ type: 'context.deleted', contextId: toBase58(e.contextId) })),
      c.on('committed', ({ meta, deltaId, events }) => bus.listenerCount && bus.emit({ type: 'context.state.mutated', contextId: toBase58(meta.contextId), groupId: hex(meta.groupId), rootHash: hex(meta.rootHash), deltaId: hex(deltaId), events })),
      c.on('applied', ({ meta, deltas }) => {
        if (!bus.listenerCount) return
        const contextId = toBase58(meta.contextId)
        const rootHash = hex(meta.rootHash)
        for (const d of deltas) bus.emit({ type: 'context.delta.applied', contextId, deltaId: hex(d.verified.id), rootHash })
        const events = deltas.flatMap((d) => d.verified.events)
        bus.emit({ type: 'context.state.mutated', contextId, groupId: hex(meta.groupId), rootHash, deltaId: hex(deltas[deltas.length - 1]!.verified.id), events })
      }),
      c.on('rejected', (e) => bus.listenerCount && bus.emit({ type: 'context.delta.rejected', contextId: toBase58(e.contextId), deltaId: hex(e.deltaId), reason: e.reason })),
    )
  }
  if (s.handlers) {
    offs.push(
      s.handlers.on('failed', (e) => bus.listenerCount && bus.emit({ type: 'context.handler.failed', contextId: toBase58(e.contextId), deltaId: hex(e.deltaId), handler: e.handler, kind: e.error.kind, error: e.error.message })),
    )
  }
  for (const r of s.replication ?? []) {
    const scoped = (scope: 'group' | 'context', id: Buffer) => (scope === 'group' ? { groupId: hex(id) } : { contextId: toBase58(id) })
    offs.push(
      r.on('sync.started', (e) => bus.listenerCount && bus.emit({ type: 'sync.started', ...scoped(e.scope, e.id), peerId: e.peerId, reason: e.reason })),
      r.on('sync.finished', ({ scope, id, ...rest }) => bus.listenerCount && bus.emit({ type: 'sync.finished', ...scoped(scope, id), ...rest })),
      r.on('application.fetched', (e) => bus.listenerCount && bus.emit({ type: 'application.fetched', applicationId: toBase58(e.applicationId), groupId: hex(e.groupId), peerId: e.peerId, via: e.via, size: e.size, durationMs: e.durationMs })),
      r.on('message.rejected', (e) => bus.listenerCount && bus.emit({ type: 'message.rejected', peerId: e.peerId, topic: e.scope, reason: e.reason })),
      r.on('peer.rate_limited', (e) => bus.listenerCount && bus.emit({ type: 'peer.rate_limited', ...e })),
    )
  }
  if (s.network) {
    offs.push(s.network.onPeer(({ peerId, connected }) => bus.listenerCount && bus.emit(connected ? { type: 'peer.connected', peerId } : { type: 'peer.disconnected', peerId })))
    // an inbound stream refused at its protocol's bound is the peer's traffic dropped at a limit
    const offRefused = s.network.onRefused?.(({ peerId, protocol }) => bus.listenerCount && bus.emit({ type: 'peer.rate_limited', peerId, what: `${protocol} streams (busy)`, dropped: 1 }))
    if (offRefused) offs.push(offRefused)
  }
  return () => offs.splice(0).forEach((off) => off())
}
