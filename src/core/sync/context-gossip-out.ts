import type { ContextManager, ContextMeta } from '../context/context-manager.js'
import { MAX_DELTAS_PER_MESSAGE, type SignedDeltaWire } from '../context/delta-envelope.js'
import type { GroupStore, KeyAt } from '../governance/group-store.js'
import type { HeldKey } from '../governance/keyring.js'
import type { PeerNetwork } from '../network/transport.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { sealContextMessage } from './sealed-topics.js'
import { contextTopic, encodeTopicMessage, MAX_HEARTBEAT_HEADS, MAX_TOPIC_MESSAGE } from './wire.js'

/**
 * Gossip sent on context topics (seed 001's "gossip broadcast"): the topics this node follows
 * (the contexts it holds and may read), every locally committed delta sealed under the key of
 * its governance position's epoch and published on `mero/ctx/<base58>`, and a heartbeat per
 * context with its root hash and heads, sealed under the current epoch's key.
 *
 * A delta whose position has no usable key (the epoch is stale: someone lost reading and no
 * rotation followed yet; or this node lacks the key) is not gossiped: peers learn of it from a
 * later heartbeat and fetch it over the sync stream, where no key is needed.
 */
/** Room left in a message for its envelope (tag, ids, lengths, nonce and tag of the seal). */
const SEALED_BATCH_OVERHEAD = 256

export interface ContextGossipOutDeps {
  contexts: ContextManager
  groups: GroupStore
  network: PeerNetwork
  /** Whether this node's identity may read a context now (it follows only those). */
  mayRead(meta: ContextMeta): boolean
  /** A context's key at a position was not usable (stale or not held here). */
  onNoKey?(meta: ContextMeta, status: KeyAt['status']): void
}

export class ContextGossipOut {
  private readonly subscribed = new Set<string>()
  /** Per context (base58): deltas committed after the first one of this event-loop turn, by the key that seals them. */
  private readonly outbox = new Map<string, { contextId: Buffer; byKey: Map<string, { key: HeldKey; wires: SignedDeltaWire[] }> }>()
  private heartbeat?: NodeJS.Timeout
  private stopped = false
  published = 0
  /** Deltas not gossiped for want of a usable key (they travel by sync). */
  unsealed = 0

  constructor(
    private readonly d: ContextGossipOutDeps,
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

  /** Subscribes to a context's topic (a context this node holds and may read). */
  follow(meta: ContextMeta): void {
    const b58 = toBase58(meta.contextId)
    if (this.subscribed.has(b58) || !this.d.mayRead(meta)) return
    this.subscribed.add(b58)
    this.d.network.subscribe(contextTopic(b58))
  }

  unfollow(contextId: Buffer): void {
    const b58 = toBase58(contextId)
    if (!this.subscribed.delete(b58)) return
    this.d.network.unsubscribe(contextTopic(b58))
  }

  /** The key a delta is sealed under: its position's epoch's. */
  private keyFor(contextId: Buffer, meta: ContextMeta, wire: SignedDeltaWire): HeldKey | undefined {
    const k = this.d.groups.keyAt(meta.groupId, contextId.toString('hex'), wire.govPosition)
    if (k.status === 'ok') return k
    this.unsealed++
    this.d.onNoKey?.(meta, k.status)
    return undefined
  }

  /**
   * Seals and publishes a locally authored delta. The first delta of an event-loop turn goes at
   * once (a lone write waits for nothing); those committed after it in the same turn (concurrent
   * calls) follow together, one message per key, at the turn's end.
   */
  publish(contextId: Buffer, meta: ContextMeta, wire: SignedDeltaWire): void {
    this.follow(meta)
    const key = this.keyFor(contextId, meta, wire)
    if (!key) return
    const b58 = toBase58(contextId)
    const queued = this.outbox.get(b58)
    if (queued) {
      const k = key.keyId.toString('hex')
      const group = queued.byKey.get(k)
      if (group) group.wires.push(wire)
      else queued.byKey.set(k, { key, wires: [wire] })
      return
    }
    this.outbox.set(b58, { contextId, byKey: new Map() })
    setImmediate(() => this.flushOutbox(b58))
    this.publishDeltas(b58, contextId, key, [wire])
  }

  private flushOutbox(contextIdB58: string): void {
    const o = this.outbox.get(contextIdB58)
    this.outbox.delete(contextIdB58)
    if (!o || this.stopped) return
    for (const { key, wires } of o.byKey.values()) {
      let chunk: SignedDeltaWire[] = []
      let bytes = 0
      for (const w of wires) {
        const size = 32 + 4 + 32 * w.govPosition.length + 64 + 4 + w.payload.length
        if (chunk.length && (bytes + size > MAX_TOPIC_MESSAGE - SEALED_BATCH_OVERHEAD || chunk.length >= MAX_DELTAS_PER_MESSAGE)) {
          this.publishDeltas(contextIdB58, o.contextId, key, chunk)
          chunk = []
          bytes = 0
        }
        chunk.push(w)
        bytes += size
      }
      if (chunk.length) this.publishDeltas(contextIdB58, o.contextId, key, chunk)
    }
  }

  private publishDeltas(contextIdB58: string, contextId: Buffer, key: HeldKey, wires: SignedDeltaWire[]): void {
    const bytes = encodeTopicMessage(sealContextMessage(contextId, key, { type: 'Deltas', deltas: wires }))
    // a delta too large for gossip reaches peers by sync, announced by the next heartbeat
    if (bytes.length > MAX_TOPIC_MESSAGE) return
    this.published += wires.length
    void this.d.network.publish(contextTopic(contextIdB58), bytes).catch(() => undefined)
  }

  private async beat(): Promise<void> {
    for (const b58 of this.subscribed) {
      const contextId = fromBase58(b58, 'context id', 32)
      const meta = this.d.contexts.get(contextId)
      if (!meta) continue
      const key = this.d.groups.keyAt(meta.groupId, contextId.toString('hex'))
      if (key.status !== 'ok') {
        this.d.onNoKey?.(meta, key.status)
        continue
      }
      const msg = sealContextMessage(contextId, key, { type: 'ContextHeartbeat', rootHash: meta.rootHash, heads: meta.heads.slice(0, MAX_HEARTBEAT_HEADS), deltaCount: meta.deltas })
      await this.d.network.publish(contextTopic(b58), encodeTopicMessage(msg)).catch(() => undefined)
    }
  }
}
