import type { ContextManager } from '../context/context-manager.js'
import { DeltaRejected, verifyDeltas, type SignedDeltaWire, type VerifiedDelta } from '../context/delta-envelope.js'
import type { RemoteDeltas } from '../context/remote-deltas.js'
import type { KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import type { GroupStore } from '../governance/group-store.js'
import { memberAuth } from '../governance/stream-auth.js'
import type { PeerNetwork } from '../network/transport.js'
import { ContextSyncClient } from './context-sync.js'
import { HeldDeltas } from './held-deltas.js'
import { SessionScheduler } from './session-scheduler.js'
import { contextTopic, groupTopic, MAX_HEADS, SYNC_PROTOCOL } from './wire.js'
import { toBase58 } from '../primitives/encoding.js'
import { idKey } from '../primitives/ids.js'

/**
 * Seed 001's SyncManager for contexts: a session with a peer takes its heads, then, when this
 * node is fresh and far behind, a snapshot of the entity tree, then every delta we lack (one
 * request; the peer walks its DAG), then any parents still missing, by id. Sessions run through
 * the SessionScheduler (bounded, debounced, retried, reported).
 *
 * Every verified delta, from gossip or sync, enters the context's DAG here (`ingest`): held back
 * while a snapshot of its context is being installed, and a sync is scheduled when its parents
 * stay missing.
 */
export type ContextDropReason = 'malformed' | 'oversized' | 'bad_signature' | 'undecryptable' | 'unknown_context' | 'wrong_topic' | 'queue_full' | 'wrong_context' | 'unknown_key' | 'held_full'

export interface ContextCatchUpDeps {
  contexts: ContextManager
  groups: GroupStore
  remote: RemoteDeltas
  identity: KeyPair
  network: PeerNetwork
  /** Verifies catch-up pages on worker threads. */
  pool?: VerifierPool
  /** Dropped deltas and messages, by reason (shared with the gossip receiver). */
  dropped: Record<ContextDropReason, number>
}

export interface ContextCatchUpOptions {
  syncTimeoutMs?: number
  maxConcurrentSyncs?: number
  /** A fresh node takes a snapshot when the peer holds at least this many deltas. */
  snapshotThreshold?: number
  /** Deltas of a context held while a snapshot of it is installed (held-deltas.ts) [10,000]. */
  maxHeldDeltas?: number
  /** Whole-session bound. */
  sessionTimeoutMs?: number
}

export type SessionReport = { fetched: number; method: string }

/** Deltas of a sync page verified (on the pool) and merged at a time. */
const VERIFY_CHUNK = 256
/** Deltas behind a peer beyond which a session starts the verifier pool's workers. */
const LONG_CATCH_UP = 2000

const hex = (b: Buffer) => b.toString('hex')

export class ContextCatchUp {
  /** Sync sessions, per context (hex). */
  readonly sessions: SessionScheduler<SessionReport>
  /** Deltas received while a snapshot of their context is being installed. */
  private readonly held: HeldDeltas<VerifiedDelta>

  constructor(
    private readonly d: ContextCatchUpDeps,
    private readonly opts: ContextCatchUpOptions,
  ) {
    this.held = new HeldDeltas(opts.maxHeldDeltas)
    this.sessions = new SessionScheduler({ scope: 'context', maxConcurrent: opts.maxConcurrentSyncs ?? 4, skippedMethod: 'none', run: (k, peerId) => this.run(Buffer.from(k, 'hex'), peerId) })
  }

  stop(): void {
    this.sessions.stop()
  }

  /**
   * Debounced, bounded sync of a context from a peer (see SessionScheduler); with `stillWanted`,
   * it runs only if that (or the reason of another request folded into it) still holds.
   */
  schedule(contextId: Buffer, peerId: string, reason: string, delayMs = 20, stillWanted?: () => boolean): void {
    this.sessions.schedule(hex(contextId), peerId, reason, delayMs, stillWanted)
  }

  /** Candidate peers for a context: its topic's, then its group's, then every connected peer. */
  candidates(meta: { contextId: Buffer; groupId: Buffer }): string[] {
    const out = new Set([...this.d.network.topicPeers(contextTopic(toBase58(meta.contextId))), ...this.d.network.topicPeers(groupTopic(idKey(meta.groupId))), ...this.d.network.connectedPeers()])
    return [...out]
  }

  /** Hands verified deltas to the DAG; schedules a sync when parents are missing. */
  ingest(contextId: Buffer, deltas: VerifiedDelta[], from: string): number {
    const dropped = this.held.add(hex(contextId), deltas, from)
    if (dropped !== undefined) {
      this.d.dropped.held_full += dropped
      return 0
    }
    if (!this.d.contexts.get(contextId)) return 0
    const results = this.d.remote.receive(contextId, deltas, from)
    // parents are often still in flight (another author's gossip): sync only if they stay missing
    if (results.some((r) => r.status === 'pending' && !r.reason)) this.schedule(contextId, from, 'missing parents', 50, () => this.d.remote.missing(contextId).length > 0)
    return results.filter((r) => r.status === 'applied').length
  }

  /** Counts a delta refused as its sender's fault; returns the reason it was counted under. */
  countFault(e: unknown): ContextDropReason {
    const f = e instanceof DeltaRejected ? e.fault : 'malformed'
    this.d.dropped[f]++
    return f
  }

  /** A session with the peer, bounded as a whole by sessionTimeoutMs. */
  private async run(contextId: Buffer, peerId: string): Promise<SessionReport> {
    let client: ContextSyncClient | undefined
    const deadline = setTimeout(() => client?.close(), this.opts.sessionTimeoutMs ?? 120_000)
    deadline.unref()
    try {
      const channel = await this.d.network.open(peerId, SYNC_PROTOCOL)
      client = await ContextSyncClient.open(channel, contextId, memberAuth(this.d.identity, peerId), this.opts.syncTimeoutMs)
      const r = await this.session(client, contextId, peerId)
      await client.close()
      return r
    } catch (e) {
      client?.close().catch(() => undefined)
      throw e
    } finally {
      clearTimeout(deadline)
    }
  }

  /** One session: snapshot when fresh and far behind, then the deltas we lack, then missing parents. */
  private async session(client: ContextSyncClient, contextId: Buffer, peerId: string): Promise<SessionReport> {
    const heads = await client.heads()
    let meta = this.d.contexts.require(contextId)
    let fetched = 0
    const methods: string[] = []
    const fresh = meta.heads.length === 0 && meta.deltas === 0
    if (fresh && heads.deltaCount >= (this.opts.snapshotThreshold ?? 1000)) {
      const k = hex(contextId)
      this.held.hold(k)
      const droppedBefore = this.d.dropped.held_full
      try {
        const snap = await client.snapshot()
        meta = this.d.contexts.installSnapshot(contextId, snap.records, snap.boundary)
        fetched += snap.records.length
        methods.push('snapshot')
      } finally {
        for (const h of this.held.release(k)) this.ingest(contextId, h.deltas, h.from)
        // what did not fit is fetched by sync (its successors, if any, wait for it meanwhile)
        if (this.d.dropped.held_full > droppedBefore) this.schedule(contextId, peerId, 'deltas dropped while a snapshot was installed')
      }
    }
    const lacking = heads.heads.some((h) => !this.d.contexts.log.has(contextId, h))
    // a long catch-up is worth the verifier pool's start-up (see COLD_INLINE_BELOW)
    if (lacking && heads.deltaCount - meta.deltas > LONG_CATCH_UP) this.d.pool?.warm()
    if (lacking) {
      const heads = this.d.contexts.require(contextId).heads
      const have = this.d.contexts.log.negotiation(contextId, heads.slice(0, MAX_HEADS - 32))
      fetched += await client.diff(have, (page) => this.ingestWire(contextId, page, peerId), 10_000_000)
      methods.push('deltas')
    }
    // parents still missing (a peer that lacked some, or a pruned walk): ask by id, a few rounds
    for (let round = 0; round < 16; round++) {
      const missing = this.d.remote.missing(contextId).filter((id) => !this.d.contexts.log.has(contextId, id))
      if (!missing.length) break
      const n = await client.fetch(missing.slice(0, 1024), (page) => this.ingestWire(contextId, page, peerId))
      if (n === 0) break
      fetched += n
      if (!methods.includes('by-id')) methods.push('by-id')
    }
    // the current epoch's key, when no envelope brought it here (added again, or concurrently with a rotation)
    const { groupId } = meta
    if (this.d.groups.keyAt(groupId, contextId.toString('hex')).status === 'missing') {
      const { keys } = await client.key()
      if (this.d.groups.acceptKeys(groupId, contextId.toString('hex'), keys)) methods.push('keys')
    }
    return { fetched, method: methods.join('+') || 'none' }
  }

  /**
   * Verifies a page on the pool in chunks and merges each chunk as soon as it is verified, in
   * order: the workers check the next chunks while this thread merges the ones before.
   */
  private async ingestWire(contextId: Buffer, page: SignedDeltaWire[], from: string): Promise<void> {
    const checks: Promise<Awaited<ReturnType<typeof verifyDeltas>>>[] = []
    for (let i = 0; i < page.length; i += VERIFY_CHUNK) {
      const check = verifyDeltas(contextId, page.slice(i, i + VERIFY_CHUNK), this.d.pool)
      check.catch(() => undefined) // awaited below, in order; a later one may fail first
      checks.push(check)
    }
    for (const check of checks) {
      const { verified, faults } = await check
      for (const f of faults) this.countFault(f)
      if (verified.length) this.ingest(contextId, verified, from)
    }
  }
}
