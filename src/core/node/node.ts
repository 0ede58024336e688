import { AliasStore } from '../aliases/alias-store.js'
import { BlobProviders } from '../blobs/blob-providers.js'
import { BlobStore } from '../blobs/blob-store.js'
import type { KeyPair } from '../crypto/ed25519.js'
import { GroupStore } from '../governance/group-store.js'
import { IssuedInvitations } from '../governance/issued-invitations.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { decodeToken } from '../governance/invitation.js'
import { peerIdFromPublicKey } from '../primitives/ids.js'
import type { Store } from '../store/store.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import { ApplicationStore, type ApplicationAbi } from '../context/applications.js'
import { ContextManager } from '../context/context-manager.js'
import { Runtime, type RuntimeLimits } from '../runtime/index.js'
import type { GroupOp, SignedOp } from '../governance/ops.js'
import { GroupReplicator } from '../sync/group-replicator.js'
import { ContextReplicator } from '../sync/context-replicator.js'
import { registerSyncServer } from '../sync/sync-server.js'
import { RemoteDeltas } from '../context/remote-deltas.js'
import type { NodeNetwork } from '../sync/transport.js'
import { EventBus } from './event-bus.js'
import { GarbageCollector, type GarbageCollectorOptions } from './garbage-collector.js'
import { instrumentedStore } from './instrumented-store.js'
import { ApplicationRefetch, type MissingApplication } from './application-refetch.js'

export interface NodeOptions {
  store: Store
  identity: KeyPair
  /** Where blob chunks are stored (the node folder's blobs/). */
  blobsDir: string
  /** Multiaddrs this node tells others to dial (invitation hints). */
  advertisedAddresses?: string[]
  events?: EventBus
  /** The p2p node; without one the node works alone (tests, offline use). */
  network?: NodeNetwork
  /** Verifies signatures of catch-up batches on worker threads. */
  verifierPool?: VerifierPool
  /** Runtime limits (memory pages, instruction budget, module size, ...). */
  runtimeLimits?: Partial<RuntimeLimits>
  groupHeartbeatMs?: number
  syncTimeoutMs?: number
  maxConcurrentSyncs?: number
  contextHeartbeatMs?: number
  /** A fresh node takes a snapshot when a peer holds at least this many deltas of a context. */
  snapshotThreshold?: number
  /** The calls that reach a context in one event-loop turn commit as one delta [true]. */
  coalesceCalls?: boolean
  /** Garbage collection: period, tombstone retention, work per run (defaults: 12 h, 24 h). */
  gc?: Partial<GarbageCollectorOptions>
}

/**
 * The node core: wires the parts (store, governance, contexts, network, sync) and routes events
 * between them. Knows nothing of HTTP, oclif or processes; the daemon owns one.
 */
export class MeroNode {
  readonly store: Store
  readonly identity: KeyPair
  readonly events: EventBus
  readonly identityBase58: string
  readonly peerId: string
  readonly blobs: BlobStore
  readonly aliases: AliasStore
  readonly groups: GroupStore
  readonly invitations: IssuedInvitations
  readonly runtime: Runtime
  readonly applications: ApplicationStore
  readonly contexts: ContextManager
  readonly network?: NodeNetwork
  readonly replicator?: GroupReplicator
  readonly remoteDeltas: RemoteDeltas
  readonly contextReplicator?: ContextReplicator
  /** Serves, announces and fetches blobs over the network (application bytes for joiners). */
  readonly blobProviders?: BlobProviders
  readonly gc: GarbageCollector
  /** Installed applications whose bytes are missing from the blobs folder, fetched again from peers. */
  readonly refetch: ApplicationRefetch
  /** What was missing at start. */
  missingApplications: MissingApplication[] = []
  private readonly configuredAddresses: string[]
  private offPeers?: () => void
  private started = false

  private readonly verifierPool?: VerifierPool

  constructor(opts: NodeOptions) {
    this.store = opts.store
    this.verifierPool = opts.verifierPool
    this.identity = opts.identity
    this.events = opts.events ?? new EventBus()
    this.identityBase58 = toBase58(opts.identity.publicKey)
    this.peerId = peerIdFromPublicKey(opts.identity.publicKey)
    this.blobs = new BlobStore(opts.store, opts.blobsDir, (id) => void this.blobProviders?.withdraw(id).catch(() => undefined))
    this.aliases = new AliasStore(opts.store)
    this.groups = new GroupStore(opts.store, this.events)
    this.invitations = new IssuedInvitations(opts.store)
    this.runtime = new Runtime({ limits: opts.runtimeLimits, instrumented: instrumentedStore(opts.store) })
    this.applications = new ApplicationStore(
      opts.store,
      this.blobs,
      async (bytes) => ({ abi: (await this.runtime.validate(bytes)).abi as ApplicationAbi | undefined }),
      this.runtime.limits.maxModuleBytes,
      (meta) => void this.blobProviders?.announce([fromBase58(meta.applicationId, 'application id', 32)]),
      (id) => {
        this.refetch.mark(id)
        void this.refetch.retry()
      },
    )
    this.contexts = new ContextManager({
      store: opts.store,
      groups: this.groups,
      applications: this.applications,
      runtime: this.runtime,
      events: this.events,
      identity: opts.identity,
      issue: (groupId, op) => this.issueGroupOp(groupId, op),
      onCommitted: (meta, id, wire) => this.contextReplicator?.onCommitted(meta, id, wire),
      coalesceCalls: opts.coalesceCalls,
    })
    this.remoteDeltas = new RemoteDeltas({ contexts: this.contexts, groups: this.groups, events: this.events, checkClock: (hlc) => this.contexts.checkClock(hlc) })
    this.gc = new GarbageCollector(
      { store: opts.store, contexts: this.contexts, blobs: this.blobs, applications: this.applications, events: this.events },
      { intervalMs: 12 * 3600_000, tombstoneRetentionMs: 24 * 3600_000, ...opts.gc },
    )
    this.configuredAddresses = opts.advertisedAddresses ?? []
    this.network = opts.network
    this.refetch = new ApplicationRefetch({
      applications: this.applications,
      groups: this.groups,
      events: this.events,
      providers: () => this.blobProviders,
      peers: () => this.network?.connectedPeers() ?? [],
      maxBytes: this.runtime.limits.maxModuleBytes,
    })
    if (opts.network) {
      this.replicator = new GroupReplicator(this.groups, opts.identity, opts.network, this.events, {
        heartbeatMs: opts.groupHeartbeatMs ?? 10_000,
        syncTimeoutMs: opts.syncTimeoutMs,
        maxConcurrentSyncs: opts.maxConcurrentSyncs,
        pool: opts.verifierPool,
        serveSync: false,
      })
      this.blobProviders = new BlobProviders({ blobs: this.blobs, groups: this.groups, identity: opts.identity, network: opts.network, routing: opts.network.routing }, { timeoutMs: opts.syncTimeoutMs })
      this.contextReplicator = new ContextReplicator(
        { contexts: this.contexts, remote: this.remoteDeltas, groups: this.groups, identity: opts.identity, network: opts.network, events: this.events, issue: (groupId, op) => this.issueGroupOp(groupId, op), pool: opts.verifierPool },
        {
          heartbeatMs: opts.contextHeartbeatMs ?? 10_000,
          syncTimeoutMs: opts.syncTimeoutMs,
          maxConcurrentSyncs: opts.maxConcurrentSyncs,
          snapshotThreshold: opts.snapshotThreshold,
          fetchApplication: (applicationId, peers, groupId) => this.fetchApplication(applicationId, peers, groupId),
        },
      )
    }
  }

  /** The addresses others should dial: what the network listens on, else what is configured. */
  get advertisedAddresses(): string[] {
    const live = this.network?.listenAddresses() ?? []
    return live.length ? live : this.configuredAddresses
  }

  async start(): Promise<void> {
    this.groups.load()
    this.missingApplications = this.refetch.scan()
    if (this.network) {
      await this.network.start()
      this.offPeers = this.network.onPeer(({ peerId, connected }) => {
        this.events.emit(connected ? { type: 'peer.connected', peerId } : { type: 'peer.disconnected', peerId })
        if (connected) {
          this.replicator?.peerConnected(peerId)
          this.contextReplicator?.peerConnected(peerId)
          void this.blobProviders?.announcePending()
          void this.refetch.retry()
        }
      })
      const offRefused = this.network.onRefused?.(({ peerId, protocol }) => this.events.emit({ type: 'peer.rate_limited', peerId, what: `${protocol} streams (busy)`, dropped: 1 }))
      const offPeers = this.offPeers
      this.offPeers = () => {
        offPeers?.()
        offRefused?.()
      }
      registerSyncServer(this.network, {
        group: (channel, peerId) => this.replicator!.serve(channel, peerId),
        context: (channel, hello) => this.contextReplicator!.serve(channel, hello),
      })
      this.blobProviders!.serve()
      this.replicator!.start()
      this.contextReplicator!.start()
      void this.blobProviders!.announce(this.applications.list().map((a) => fromBase58(a.applicationId, 'application id', 32)))
    }
    this.gc.start()
    this.started = true
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.gc.stop()
    this.replicator?.stop()
    this.contextReplicator?.stop()
    this.offPeers?.()
    await this.network?.stop()
    this.groups.flush()
  }

  /** Contexts, in any group this node holds, that run an application (base58 ids). */
  contextsUsing(applicationId: string): string[] {
    return this.groups.groupIds().flatMap((g) => this.groups.view(g).contexts.filter((c) => c.applicationId === applicationId).map((c) => c.contextId))
  }

  /** Installs an application this node lacks from a peer that serves it to members of `groupId`. */
  private async fetchApplication(applicationId: Buffer, peers: string[], groupId: string): Promise<void> {
    if (this.applications.get(applicationId)) return
    const fetched = await this.blobProviders!.fetch(applicationId, groupId, peers, this.runtime.limits.maxModuleBytes)
    const meta = await this.applications.install(fetched.bytes, `peer:${fetched.peerId}`)
    this.events.emit({ type: 'application.fetched', applicationId: meta.applicationId, groupId, peerId: fetched.peerId, via: fetched.via, size: meta.size, durationMs: fetched.durationMs })
  }

  /** Signs, applies and (with a network) publishes a governance op of this node's identity. */
  async issueGroupOp(groupId: string, op: GroupOp): Promise<SignedOp> {
    if (this.replicator) return this.replicator.issue(groupId, op)
    return this.groups.issue(groupId, this.identity, op)
  }

  /**
   * JoinGroup with a token; when the invitation names a context, joins it too (JoinGroupContext):
   * the claim admits this identity to it, and the context's key, app and state follow.
   */
  async joinGroup(token: string): Promise<{ groupId: string; opId: string; fetched: number; contextId?: string; contextSync?: { fetched: number; method: string } }> {
    if (!this.replicator) throw new MeroError('Unavailable', 'this node runs without a network')
    const r = await this.replicator.join(token)
    const context = decodeToken(token).invitation.context
    if (!context || !this.contextReplicator) return r
    const c = await this.contextReplicator.join(context, { retryForMs: 10_000 })
    return { ...r, contextId: c.contextId, contextSync: { fetched: c.fetched, method: c.method } }
  }

  /** Creates a group owned by this node's identity and follows its topic. */
  createGroup(settings: Parameters<GroupStore['createGroup']>[1] = {}): string {
    const { groupId } = this.groups.createGroup(this.identity, settings)
    this.replicator?.follow(groupId)
    return groupId
  }

  status(): { identity: string; peerId: string; peers: number; listenAddresses: string[] } {
    return { identity: this.identityBase58, peerId: this.peerId, peers: this.network?.connectedPeers().length ?? 0, listenAddresses: this.network?.listenAddresses() ?? [] }
  }
}
