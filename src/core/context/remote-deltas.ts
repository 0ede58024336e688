import { PendingQueue } from '../dag/pending-queue.js'
import type { GroupStore } from '../governance/group-store.js'
import type { Emitter } from '../primitives/emitter.js'
import type { HlcTimestamp } from '../primitives/hlc.js'
import type { VerifiedDelta } from './delta-envelope.js'
import type { ContextManager, ContextMeta, ReadyDelta } from './context-manager.js'
import type { ContextEvents } from './events.js'

/**
 * The receiving half of a context's DAG (seed 001's DagStore): verified deltas from gossip or
 * sync are checked against governance and merged once their parents are held.
 *
 * - A delta whose parents are not all held waits, indexed by what it misses, and is applied in a
 *   cascade when they arrive. So does a delta whose governance position names group ops this
 *   node lacks (retried when group ops arrive), or whose timestamp is ahead of our clock.
 * - Its author must be a (writing) member of the group, joined to the context and (restricted)
 *   on its allowlist, at the delta's governance position: decided on the fold of that position,
 *   so every node decides the same, and a member removed or taken off the allowlist there cannot
 *   write after it. A rejected delta is counted and never merged.
 * - From gossip, it must have been sealed under the key of its own position's epoch: a key the
 *   group retired is accepted only for positions before its retirement.
 * - Pending deltas are bounded per context (oldest evicted first) and expire; sync repairs both.
 */
export const MAX_PENDING_PER_CONTEXT = 10_000
export const PENDING_TTL_MS = 300_000

export type ReceiveStatus = 'applied' | 'duplicate' | 'pending' | 'rejected'
export type PendingReason = 'parents' | 'governance' | 'clock'

interface Pending {
  verified: VerifiedDelta
  reason: PendingReason
  from?: string
}

export interface RemoteDeltaDeps {
  contexts: ContextManager
  groups: GroupStore
  /** Where applied and rejected deltas are reported (the contexts' events). */
  events: Emitter<ContextEvents>
  /** Throws when a timestamp is too far ahead of this node's clock. */
  checkClock: (hlc: HlcTimestamp) => void
  maxPending?: number
}

const hex = (b: Buffer) => b.toString('hex')

export class RemoteDeltas {
  private readonly pending = new Map<string, PendingQueue<Pending>>()
  /** Pending deltas dropped since start: evicted to make room, or expired (sync repairs both). */
  evicted = 0
  rejected = 0

  constructor(private readonly d: RemoteDeltaDeps) {}

  pendingCount(contextId: Buffer): number {
    return this.pending.get(hex(contextId))?.size ?? 0
  }

  /** Deltas waiting, all contexts together. */
  get pendingTotal(): number {
    let n = 0
    for (const q of this.pending.values()) n += q.size
    return n
  }

  /** Parent ids that pending deltas of the context wait for (what sync should fetch). */
  missing(contextId: Buffer): Buffer[] {
    const p = this.pending.get(hex(contextId))
    if (!p) return []
    return [...p.waitedFor()].filter((id) => !p.has(id)).map((id) => Buffer.from(id, 'hex'))
  }

  isPending(contextId: Buffer, id: Buffer): boolean {
    return this.pending.get(hex(contextId))?.has(hex(id)) ?? false
  }

  /** Receives verified deltas of one context; applies what it can in one write batch. */
  receive(contextId: Buffer, deltas: VerifiedDelta[], from?: string): { status: ReceiveStatus; id: string; reason?: string }[] {
    const meta = this.d.contexts.require(contextId)
    const { groupId } = meta
    const ctxHex = hex(contextId)
    const p = this.contextPending(ctxHex)
    const results: { status: ReceiveStatus; id: string; reason?: string }[] = []
    const ready: ReadyDelta[] = []
    const readyDepth = new Map<string, number>()
    const queue: { verified: VerifiedDelta; from?: string; since: number }[] = []
    const seen = new Set<string>()
    for (const v of deltas) {
      const id = hex(v.id)
      if (seen.has(id) || p.has(id) || this.held(contextId, meta, v)) {
        results.push({ status: 'duplicate', id })
        continue
      }
      seen.add(id)
      queue.push({ verified: v, from, since: Date.now() })
      results.push({ status: 'pending', id })
    }
    const outcome = new Map<string, { status: ReceiveStatus; reason?: string }>()
    while (queue.length) {
      const item = queue.shift()!
      const v = item.verified
      const id = hex(v.id)
      if (readyDepth.has(id)) continue
      // a parent among the heads (the common case) is held: no store read
      const missing = v.delta.parents.filter((q) => !readyDepth.has(hex(q)) && !meta.heads.some((h) => h.equals(q)) && !this.d.contexts.log.has(contextId, q)).map(hex)
      if (missing.length) {
        this.evicted += p.park(id, { verified: v, reason: 'parents', from: item.from }, missing, item.since)
        outcome.set(id, { status: 'pending' })
        continue
      }
      const access = this.d.groups.writerAt(groupId, contextId, v.wire.author, v.wire.govPosition)
      if (access === 'unknown') {
        this.evicted += p.park(id, { verified: v, reason: 'governance', from: item.from }, [], item.since)
        outcome.set(id, { status: 'pending', reason: 'governance position not held yet' })
        continue
      }
      const refused = access.ok ? this.wrongKey(groupId, ctxHex, v) : access.reason
      if (refused) {
        this.rejected++
        p.remove(id)
        outcome.set(id, { status: 'rejected', reason: refused })
        if (this.d.events.listens('rejected')) this.d.events.emit('rejected', { contextId, deltaId: v.id, reason: refused })
        continue
      }
      try {
        this.d.checkClock(v.delta.hlc)
      } catch {
        this.evicted += p.park(id, { verified: v, reason: 'clock', from: item.from }, [], item.since)
        outcome.set(id, { status: 'pending', reason: 'timestamp ahead of this node' })
        continue
      }
      p.remove(id)
      let depth = 0
      for (const q of v.delta.parents) depth = Math.max(depth, (readyDepth.get(hex(q)) ?? this.d.contexts.log.depth(contextId, q)!) + 1)
      readyDepth.set(id, depth)
      ready.push({ verified: v, depth })
      outcome.set(id, { status: 'applied' })
      // the cascade: children that waited only for this one
      for (const c of p.arrived(id)) queue.push({ verified: c.item.verified, from: c.item.from, since: c.since })
    }
    if (ready.length) {
      const after = this.d.contexts.commitRemote(contextId, ready)
      if (this.d.events.listens('applied')) this.d.events.emit('applied', { contextId, meta: after, deltas: ready })
    }
    return results.map((r) => ({ ...r, ...(outcome.get(r.id) ?? {}) }))
  }

  /** Why a gossiped delta's seal does not fit its position (undefined when it does, or it came by sync). */
  private wrongKey(groupId: Buffer, scope: string, v: VerifiedDelta): string | undefined {
    if (!v.sealedUnder) return undefined
    const k = this.d.groups.keyAt(groupId, scope, v.wire.govPosition)
    if (k.status === 'ok' && k.keyId.equals(v.sealedUnder)) return undefined
    if (k.status === 'stale') return "the delta was gossiped at a position whose key is retired (someone lost reading there and no rotation followed)"
    return "the delta was sealed under another key than its position's epoch"
  }

  /**
   * Whether the context holds a delta. The heads are the held deltas without a held child, so a
   * delta with a parent among them is not held: a peer's next delta (nearly every one gossip
   * brings) is known to be new without reading the store.
   */
  private held(contextId: Buffer, meta: ContextMeta, v: VerifiedDelta): boolean {
    if (meta.heads.some((h) => h.equals(v.id))) return true
    if (v.delta.parents.some((q) => meta.heads.some((h) => h.equals(q)))) return false
    return this.d.contexts.log.has(contextId, v.id)
  }

  /** Group ops arrived: deltas that waited for governance (or the clock) are tried again. */
  retry(contextId: Buffer): void {
    const p = this.pending.get(hex(contextId))
    if (!p) return
    const again = [...p.values()].filter((x) => x.item.reason !== 'parents')
    if (!again.length) return
    for (const x of again) p.remove(x.id)
    this.receive(contextId, again.map((x) => x.item.verified), again[0]!.item.from)
  }

  /** Drops pending deltas older than the TTL; returns how many. */
  expire(now = Date.now(), ttlMs = PENDING_TTL_MS): number {
    let n = 0
    for (const p of this.pending.values()) n += p.expire(now - ttlMs)
    this.evicted += n
    return n
  }

  forget(contextId: Buffer): void {
    this.pending.delete(hex(contextId))
  }

  private contextPending(ctxHex: string): PendingQueue<Pending> {
    let p = this.pending.get(ctxHex)
    if (!p) this.pending.set(ctxHex, (p = new PendingQueue(this.d.maxPending ?? MAX_PENDING_PER_CONTEXT)))
    return p
  }
}
