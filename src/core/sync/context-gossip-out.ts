import type { ContextManager, ContextMeta } from '../context/context-manager.js'
import { MAX_DELTAS_PER_MESSAGE, type SignedDeltaWire } from '../context/delta-envelope.js'
import type { PeerNetwork } from '../network/transport.js'
import { fromBase58 } from '../primitives/encoding.js'
import { sealDelta, sealDeltas } from './sealed-deltas.js'
import { contextTopic, encodeTopicMessage, MAX_TOPIC_MESSAGE } from './wire.js'

/**
 * Gossip sent on context topics (seed 001's "gossip broadcast"): the topics this node follows
 * (the contexts it holds with their key), every locally committed delta sealed with the context
 * key and published on `mero/ctx/<base58>`, and a heartbeat per context with its root hash and
 * heads.
 */
/** Room left in a StateDeltas message for its envelope (tag, ids, lengths, nonce and tag of the seal). */
const SEALED_BATCH_OVERHEAD = 256

export class ContextGossipOut {
  private readonly subscribed = new Set<string>()
  /** Per context (base58): deltas committed after the first one of this event-loop turn. */
  private readonly outbox = new Map<string, { contextId: Buffer; key: Buffer; wires: SignedDeltaWire[] }>()
  private heartbeat?: NodeJS.Timeout
  private stopped = false
  published = 0

  constructor(
    private readonly d: { contexts: ContextManager; network: PeerNetwork },
    private readonly opts: { heartbeatMs: number },
  ) {}

  start(): void {
    for (const meta of this.d.contexts.list()) this.follow(meta)
    this.heartbeat = setInterval(() => void this.beat(), this.opts.heartbeatMs)
    this.heartbeat.unref()
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.heartbeat)
  }

  /** The contexts (base58) whose topics this node follows. */
  followed(): ReadonlySet<string> {
    return this.subscribed
  }

  /** Subscribes to a context's topic (a context this node holds with its key). */
  follow(meta: ContextMeta): void {
    if (this.subscribed.has(meta.contextId) || !this.d.contexts.key(fromBase58(meta.contextId, 'context id', 32))) return
    this.subscribed.add(meta.contextId)
    this.d.network.subscribe(contextTopic(meta.contextId))
  }

  unfollow(contextIdB58: string): void {
    if (!this.subscribed.delete(contextIdB58)) return
    this.d.network.unsubscribe(contextTopic(contextIdB58))
  }

  /**
   * Seals and publishes a locally authored delta. The first delta of an event-loop turn goes at
   * once (a lone write waits for nothing); those committed after it in the same turn (concurrent
   * calls) follow together in StateDeltas messages at the turn's end.
   */
  publish(contextId: Buffer, meta: ContextMeta, wire: SignedDeltaWire): void {
    const key = this.d.contexts.key(contextId)
    if (!key) return
    this.follow(meta)
    const queued = this.outbox.get(meta.contextId)
    if (queued) {
      queued.wires.push(wire)
      return
    }
    this.outbox.set(meta.contextId, { contextId, key, wires: [] })
    setImmediate(() => this.flushOutbox(meta.contextId))
    this.publishDeltas(meta.contextId, encodeTopicMessage(sealDelta(contextId, key, wire)), 1)
  }

  private flushOutbox(contextIdB58: string): void {
    const o = this.outbox.get(contextIdB58)
    this.outbox.delete(contextIdB58)
    if (!o?.wires.length || this.stopped) return
    if (o.wires.length === 1) return this.publishDeltas(contextIdB58, encodeTopicMessage(sealDelta(o.contextId, o.key, o.wires[0]!)), 1)
    let chunk: SignedDeltaWire[] = []
    let bytes = 0
    const send = () => {
      if (chunk.length) this.publishDeltas(contextIdB58, encodeTopicMessage(sealDeltas(o.contextId, o.key, chunk)), chunk.length)
      chunk = []
      bytes = 0
    }
    for (const w of o.wires) {
      const size = 32 + 4 + 32 * w.govPosition.length + 64 + 4 + w.payload.length
      if (chunk.length && (bytes + size > MAX_TOPIC_MESSAGE - SEALED_BATCH_OVERHEAD || chunk.length >= MAX_DELTAS_PER_MESSAGE)) send()
      chunk.push(w)
      bytes += size
    }
    send()
  }

  private publishDeltas(contextIdB58: string, bytes: Buffer, count: number): void {
    // a delta too large for gossip reaches peers by sync, announced by the next heartbeat
    if (bytes.length > MAX_TOPIC_MESSAGE) return
    this.published += count
    void this.d.network.publish(contextTopic(contextIdB58), bytes).catch(() => undefined)
  }

  private async beat(): Promise<void> {
    for (const b58 of this.subscribed) {
      const meta = this.d.contexts.get(fromBase58(b58, 'context id', 32))
      if (!meta) continue
      const msg = encodeTopicMessage({ type: 'ContextHeartbeat', contextId: fromBase58(b58, 'context id', 32), rootHash: Buffer.from(meta.rootHash, 'hex'), heads: meta.heads.slice(0, 256).map((h) => Buffer.from(h, 'hex')), deltaCount: meta.deltas })
      await this.d.network.publish(contextTopic(b58), msg).catch(() => undefined)
    }
  }
}
