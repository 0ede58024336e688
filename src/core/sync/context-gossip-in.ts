import type { ContextManager } from '../context/context-manager.js'
import { verifyDelta, type VerifiedDelta } from '../context/delta-envelope.js'
import type { RemoteDeltas } from '../context/remote-deltas.js'
import type { GroupStore } from '../governance/group-store.js'
import type { PeerNetwork, TopicMessageEvent } from '../network/transport.js'
import { toBase58 } from '../primitives/encoding.js'
import { idKey } from '../primitives/ids.js'
import type { Emitter } from '../primitives/emitter.js'
import type { ContextCatchUp, ContextDropReason } from './context-catch-up.js'
import type { ReplicationEvents } from './events.js'
import { openContextMessage } from './sealed-topics.js'
import { decodeTopicMessage, type ContextPlain, type TopicMessage } from './wire.js'

/**
 * Gossip received on context topics (seed 001's "remote apply"): each message is decoded, checked
 * against its topic, opened with the key of the epoch it names and verified (in gossipsub's
 * validation hook where the network has one, so that peers never relay garbage or forgeries),
 * then its deltas enter the DAG through a bounded inbound queue (overflow is dropped, counted and
 * repaired by sync). A heartbeat naming heads this node lacks schedules a sync; so does a message
 * under a key this node lacks (the session brings the key). The sender of a message refused as
 * its fault, and of deltas dropped at the full queue, is reported (`events`).
 */
export interface ContextGossipInDeps {
  contexts: ContextManager
  groups: GroupStore
  remote: RemoteDeltas
  network: PeerNetwork
  catchUp: ContextCatchUp
  /** Dropped deltas and messages, by reason (shared with catch-up). */
  dropped: Record<ContextDropReason, number>
  /** Where refused messages and dropped deltas are reported, with their sender. */
  events: Emitter<ReplicationEvents>
}

type Inbound = { contextId: Buffer; verified: VerifiedDelta; from: string }
type Inspected =
  | { verdict: 'accept'; kind: 'heartbeat'; contextId: Buffer; msg: Extract<ContextPlain, { type: 'ContextHeartbeat' }> }
  | { verdict: 'accept'; kind: 'deltas'; contextId: Buffer; verified: VerifiedDelta[] }
  | { verdict: 'reject' | 'ignore'; reason: ContextDropReason }

export const CONTEXT_TOPIC_PREFIX = 'mero/ctx/'
const HEARTBEAT_SYNC_DELAY_MS = 250

const hex = (b: Buffer) => b.toString('hex')

export class ContextGossipIn {
  private readonly inbound: Inbound[] = []
  private draining = false
  /** A message was applied directly in this event-loop turn (see onMessage). */
  private appliedThisTurn = false
  private offMessages?: () => void
  private offValidator?: () => void
  /** Messages the validation hook accepted, decoded and verified, until their delivery. */
  private readonly checked = new WeakMap<Uint8Array, Inspected>()
  private stopped = false
  received = 0
  divergences = 0

  constructor(
    private readonly d: ContextGossipInDeps,
    private readonly opts: { inboundQueue?: number } = {},
  ) {}

  start(): void {
    this.offMessages = this.d.network.onMessage((m) => this.onMessage(m))
    // where the network has a validation hook, deltas are checked before gossipsub forwards them
    this.offValidator = this.d.network.setTopicValidator?.(CONTEXT_TOPIC_PREFIX, (m) => {
      const r = this.inspect(m)
      if (r.verdict === 'accept') this.checked.set(m.data, r)
      else this.reportRejected(m, r)
      return r.verdict
    })
  }

  stop(): void {
    this.stopped = true
    this.offMessages?.()
    this.offValidator?.()
  }

  private onMessage(m: TopicMessageEvent): void {
    if (!m.topic.startsWith(CONTEXT_TOPIC_PREFIX)) return
    let r = this.checked.get(m.data)
    if (r) this.checked.delete(m.data)
    else this.reportRejected(m, (r = this.inspect(m)))
    if (r.verdict !== 'accept') return
    if (r.kind === 'heartbeat') return this.onHeartbeat(r.contextId, r.msg, m.from)
    if (this.inbound.length + r.verified.length > (this.opts.inboundQueue ?? 8192)) {
      this.d.dropped.queue_full += r.verified.length
      if (this.d.events.listens('peer.rate_limited')) this.d.events.emit('peer.rate_limited', { peerId: m.from, what: 'inbound deltas (queue full)', dropped: r.verified.length })
      this.d.catchUp.schedule(r.contextId, m.from, 'inbound queue overflow', 500)
      return
    }
    // the first message of an event-loop turn is applied at once (a lone delta waits for nothing);
    // those arriving after it in the same turn are queued and applied together
    if (!this.draining && !this.appliedThisTurn) {
      this.appliedThisTurn = true
      setImmediate(() => (this.appliedThisTurn = false))
      this.d.catchUp.ingest(r.contextId, r.verified, m.from)
      return
    }
    for (const verified of r.verified) this.inbound.push({ contextId: r.contextId, verified, from: m.from })
    if (!this.draining) {
      this.draining = true
      setImmediate(() => this.drain())
    }
  }

  /**
   * Decodes a context topic message, checks its topic, opens it with the key it names and
   * verifies it; counts drops. A context this node does not hold, or a key it lacks, is ignored
   * (the latter schedules a sync); anything else is the sender's fault.
   */
  private inspect(m: TopicMessageEvent): Inspected {
    this.received++
    const topicContext = m.topic.slice(CONTEXT_TOPIC_PREFIX.length)
    let msg: TopicMessage
    try {
      msg = decodeTopicMessage(m.data)
    } catch (e) {
      return this.drop(/exceeds/.test((e as Error).message) ? 'oversized' : 'malformed')
    }
    if (msg.type !== 'ContextSealed') return this.drop('wrong_topic')
    // toBase58 remembers the ids it encoded: a held context's costs a lookup
    if (toBase58(msg.contextId) !== topicContext) return this.drop('wrong_topic')
    const meta = this.d.contexts.get(msg.contextId)
    if (!meta) return this.drop('unknown_context')
    const held = this.d.groups.keys?.byKeyId(msg.keyId)
    if (!held || held.groupId !== idKey(meta.groupId) || held.scope !== msg.contextId.toString('hex')) {
      this.d.dropped.unknown_key++
      if (!this.stopped) this.d.catchUp.schedule(msg.contextId, m.from, 'a key this node lacks', 100)
      return { verdict: 'ignore', reason: 'unknown_key' }
    }
    try {
      const plain = openContextMessage(msg, held.key)
      if (plain.type === 'ContextHeartbeat') return { verdict: 'accept', kind: 'heartbeat', contextId: msg.contextId, msg: plain }
      // a batch is accepted whole or not at all: an honest author signs every delta it seals
      const verified = plain.deltas.map((w) => verifyDelta(msg.contextId, w))
      for (const v of verified) v.sealedUnder = msg.keyId
      return { verdict: 'accept', kind: 'deltas', contextId: msg.contextId, verified }
    } catch (e) {
      return { verdict: 'reject', reason: this.d.catchUp.countFault(e) }
    }
  }

  private drop(reason: ContextDropReason): Inspected {
    this.d.dropped[reason]++
    return { verdict: reason === 'unknown_context' ? 'ignore' : 'reject', reason }
  }

  /** The sender of a message refused as its fault is reported (the operator's log summarises them). */
  private reportRejected(m: TopicMessageEvent, r: Inspected): void {
    if (r.verdict === 'reject' && this.d.events.listens('message.rejected')) this.d.events.emit('message.rejected', { scope: 'context', peerId: m.from, reason: r.reason })
  }

  /** Applies queued deltas, a bounded slice at a time, one write batch per context per slice. */
  private drain(): void {
    if (this.stopped) return void (this.inbound.length = 0)
    const slice = this.inbound.splice(0, 512)
    const byContext = new Map<string, { contextId: Buffer; deltas: VerifiedDelta[]; from: string }>()
    for (const { contextId, verified, from } of slice) {
      const k = hex(contextId)
      let group = byContext.get(k)
      if (!group) byContext.set(k, (group = { contextId, deltas: [], from }))
      group.deltas.push(verified)
    }
    for (const { contextId, deltas, from } of byContext.values()) this.d.catchUp.ingest(contextId, deltas, from)
    if (this.inbound.length && !this.stopped) setImmediate(() => this.drain())
    else this.draining = false
  }

  private onHeartbeat(contextId: Buffer, msg: Extract<ContextPlain, { type: 'ContextHeartbeat' }>, from: string): void {
    const meta = this.d.contexts.get(contextId)!
    const unknown = () => msg.heads.some((h) => !this.d.contexts.log.has(contextId, h) && !this.d.remote.isPending(contextId, h))
    // while peers write, a heartbeat names heads whose gossip is on its way: sync only for those
    // still unknown a moment later
    if (unknown()) return this.d.catchUp.schedule(contextId, from, 'heartbeat', HEARTBEAT_SYNC_DELAY_MS, unknown)
    const same = msg.heads.length === meta.heads.length && msg.heads.every((h) => meta.heads.some((m) => m.equals(h)))
    if (same && !msg.rootHash.equals(meta.rootHash)) this.divergences++
  }
}
