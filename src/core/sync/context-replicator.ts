import type { BlobProviders } from '../blobs/blob-providers.js'
import type { ApplicationStore } from '../context/applications.js'
import type { ContextManager, ContextMeta } from '../context/context-manager.js'
import type { RemoteDeltas } from '../context/remote-deltas.js'
import type { KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import type { GroupStore } from '../governance/group-store.js'
import type { OpIssuer } from '../governance/issuer.js'
import type { FrameChannel, PeerNetwork } from '../network/transport.js'
import type { Emitter } from '../primitives/emitter.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { ContextCatchUp, type ContextDropReason, type SessionReport } from './context-catch-up.js'
import { ContextGossipIn } from './context-gossip-in.js'
import { ContextGossipOut } from './context-gossip-out.js'
import { joinContext, type JoinedContext } from './context-join.js'
import { serveContextSync } from './context-sync.js'
import type { ReplicationEvents } from './events.js'
import type { SyncOutcome } from './session-scheduler.js'
import { contextTopic, type SyncFrame } from './wire.js'
import { parseGroupId } from '../primitives/ids.js'

export type { ContextDropReason, SyncOutcome }

/**
 * Seed 001's "gossip broadcast → remote apply → convergence" for contexts, and its SyncManager,
 * made of one part per job:
 *
 * - ContextGossipOut: the topics followed; every locally committed delta sealed with the context
 *   key and published on `mero/ctx/<base58>`; heartbeats with each context's root hash and heads;
 * - ContextGossipIn: received gossip validated, opened, verified and handed to the DAG through a
 *   bounded inbound queue; heartbeats naming unknown heads schedule a sync;
 * - ContextCatchUp: sync sessions (heads, snapshot, every delta we lack, missing parents by id),
 *   bounded, debounced, retried and reported through the SessionScheduler;
 * - joinContext: JoinContext (the key and the app from a peer, ContextJoined, the state).
 *
 * This class wires them to the node's parts (contexts created, deleted and committed; governance
 * ops that let parked deltas through; this identity removed from a group) and serves the context
 * side of the sync stream.
 */
export interface ContextReplicatorOptions {
  heartbeatMs: number
  syncTimeoutMs?: number
  maxConcurrentSyncs?: number
  /** Received messages waiting to be processed; beyond this they are dropped (and synced later). */
  inboundQueue?: number
  /** A fresh node takes a snapshot when the peer holds at least this many deltas. */
  snapshotThreshold?: number
  /** Deltas of a context held while a snapshot of it is installed (held-deltas.ts) [10,000]. */
  maxHeldDeltas?: number
  /** Whole-session bound. */
  sessionTimeoutMs?: number
}

export interface ContextSyncStatus {
  syncing: boolean
  peers: number
  pendingDeltas: number
  failures: number
  lastSync?: SyncOutcome
  /** The last session that fetched something (sessions after it often find nothing left). */
  lastFetch?: SyncOutcome
}

export interface ContextReplicatorDeps {
  contexts: ContextManager
  remote: RemoteDeltas
  groups: GroupStore
  identity: KeyPair
  network: PeerNetwork
  /** Authors ContextJoined (and publishes it). */
  issuer: OpIssuer
  applications: ApplicationStore
  /** Where a joiner fetches an application it lacks. */
  blobProviders: BlobProviders
  /** Verifies catch-up pages on worker threads. */
  pool?: VerifierPool
}

const hex = (b: Buffer) => b.toString('hex')

export class ContextReplicator {
  readonly dropped: Record<ContextDropReason, number> = { malformed: 0, oversized: 0, bad_signature: 0, undecryptable: 0, unknown_context: 0, wrong_topic: 0, queue_full: 0, wrong_context: 0, unknown_key: 0, held_full: 0 }
  private readonly catchUps: ContextCatchUp
  private readonly gossipIn: ContextGossipIn
  private readonly gossipOut: ContextGossipOut
  private readonly retryGroups = new Set<string>()
  private expiry?: NodeJS.Timeout
  private offEvents: (() => void)[] = []
  private stopped = false
  /** Told when a context's key was not usable to seal (the KeyKeeper fetches or rotates it). */
  noKey?: (meta: ContextMeta) => void

  constructor(
    private readonly d: ContextReplicatorDeps,
    private readonly opts: ContextReplicatorOptions,
  ) {
    this.catchUps = new ContextCatchUp({ ...d, dropped: this.dropped }, opts)
    this.gossipIn = new ContextGossipIn({ ...d, catchUp: this.catchUps, dropped: this.dropped, events: this.catchUps.sessions.events }, opts)
    this.gossipOut = new ContextGossipOut(
      {
        ...d,
        mayRead: (meta) => d.groups.has(meta.groupId) && d.groups.contextAccess(meta.groupId, meta.contextId, d.identity.publicKey).reads,
        onNoKey: (meta) => this.noKey?.(meta),
      },
      opts,
    )
  }

  /** Sync sessions started and finished, refused gossip and dropped deltas. */
  get events(): Emitter<ReplicationEvents> {
    return this.catchUps.sessions.events
  }

  /** Context gossip messages received since start. */
  get received(): number {
    return this.gossipIn.received
  }

  /** Locally authored deltas published since start. */
  get published(): number {
    return this.gossipOut.published
  }

  /** Heartbeats that named our heads with another root hash. */
  get divergences(): number {
    return this.gossipIn.divergences
  }

  start(): void {
    this.gossipIn.start()
    this.gossipOut.start()
    const contexts = this.d.contexts.events
    const groups = this.d.groups.events
    this.offEvents = [
      contexts.on('committed', (e) => this.gossipOut.publish(e.contextId, e.meta, e.wire)),
      contexts.on('created', (e) => this.gossipOut.follow(e.meta)),
      contexts.on('deleted', (e) => {
        this.gossipOut.unfollow(e.contextId)
        this.d.remote.forget(e.contextId)
      }),
      groups.on('op.applied', (e) => this.retryGovernance(e.groupId)),
      groups.on('member.removed', (e) => {
        if (!e.identity.equals(this.d.identity.publicKey)) return
        for (const meta of this.d.contexts.list(e.groupId)) this.gossipOut.unfollow(meta.contextId)
      }),
    ]
    this.expiry = setInterval(() => this.d.remote.expire(), 60_000)
    this.expiry.unref()
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.expiry)
    this.catchUps.stop()
    this.gossipIn.stop()
    this.gossipOut.stop()
    for (const off of this.offEvents.splice(0)) off()
  }

  /** Governance ops arrived: deltas of the group's contexts parked for their position are tried again. */
  private retryGovernance(groupId: Buffer): void {
    const key = hex(groupId)
    if (this.retryGroups.has(key)) return
    this.retryGroups.add(key)
    setImmediate(() => {
      this.retryGroups.delete(key)
      if (this.stopped) return // the store may be closed by now
      for (const meta of this.d.contexts.list(groupId)) {
        const id = meta.contextId
        if (this.d.remote.pendingCount(id)) this.d.remote.retry(id)
      }
    })
  }

  /** Serves an inbound context sync stream (the SyncServer routes ContextHello here). */
  serve(channel: FrameChannel, hello: Extract<SyncFrame, { type: 'ContextHello' }>): void {
    void serveContextSync(channel, hello, { contexts: this.d.contexts, groups: this.d.groups, self: this.d.network.peerId }, { timeoutMs: this.opts.syncTimeoutMs }).catch(() => undefined)
  }

  /** Debounced, bounded sync of a context from a peer (see ContextCatchUp.schedule). */
  schedule(contextId: Buffer, peerId: string, reason: string, delayMs = 20, stillWanted?: () => boolean): void {
    this.catchUps.schedule(contextId, peerId, reason, delayMs, stillWanted)
  }

  /** Syncs a context from one peer now, after the session of the context already running, if any. */
  catchUp(contextId: Buffer, peerId: string, reason: string): Promise<SessionReport> {
    return this.catchUps.sessions.catchUp(hex(contextId), peerId, reason)
  }

  /** Follows a context's topic (when this node may read it), or leaves it. */
  follow(meta: ContextMeta): void {
    this.gossipOut.follow(meta)
  }

  unfollow(contextId: Buffer): void {
    this.gossipOut.unfollow(contextId)
  }

  /** Whether this node follows a context's topic. */
  follows(contextId: Buffer): boolean {
    return this.gossipOut.followed().has(toBase58(contextId))
  }

  /** Candidate peers for a context's sessions. */
  candidates(meta: ContextMeta): string[] {
    return this.catchUps.candidates(meta)
  }

  /** A peer connected: compare every followed context with it. */
  peerConnected(peerId: string): void {
    for (const b58 of this.gossipOut.followed()) this.schedule(fromBase58(b58, 'context id', 32), peerId, 'peer connected', 20)
  }

  /** SyncContext: a session now with every candidate peer. */
  syncNow(contextId: Buffer): Promise<{ peers: number; fetched: number; errors: string[] }> {
    return this.catchUps.sessions.syncNow(hex(contextId), this.catchUps.candidates(this.d.contexts.require(contextId)))
  }

  /** JoinContext (see joinContext). */
  join(contextId: Buffer, opts: { retryForMs?: number } = {}): Promise<JoinedContext> {
    return joinContext({ ...this.d, catchUp: this.catchUps, gossip: this.gossipOut, events: this.events, syncTimeoutMs: this.opts.syncTimeoutMs }, contextId, opts)
  }

  status(contextId: Buffer): ContextSyncStatus {
    const k = hex(contextId)
    const meta = this.d.contexts.get(contextId)
    const sessions = this.catchUps.sessions
    return {
      syncing: sessions.isRunning(k),
      peers: meta ? this.d.network.topicPeers(contextTopic(toBase58(contextId))).length : 0,
      pendingDeltas: this.d.remote.pendingCount(contextId),
      failures: sessions.failuresOf(k),
      ...sessions.outcomes(k),
    }
  }
}
