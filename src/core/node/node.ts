import { AliasStore } from '../aliases/alias-store.js'
import type { BlobProviders } from '../blobs/blob-providers.js'
import type { GroupDiscovery } from '../sync/group-discovery.js'
import { BlobStore } from '../blobs/blob-store.js'
import { CONTEXT_HOLDER } from '../blobs/blob-transfer.js'
import type { KeyPair } from '../crypto/ed25519.js'
import { GroupStore, type IssueOptions } from '../governance/group-store.js'
import { KeyRing } from '../governance/keyring.js'
import { IssuedInvitations } from '../governance/issued-invitations.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { decodeToken } from '../governance/invitation.js'
import { idKey, peerIdFromPublicKey } from '../primitives/ids.js'
import type { Store } from '../store/store.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import { ApplicationStore, type ApplicationAbi } from '../context/applications.js'
import { ContextManager } from '../context/context-manager.js'
import { EventHandlers } from '../context/event-handlers.js'
import { ExecutionPool, type InlineSlice, type Instrumenter, Runtime, type RuntimeLimits } from '../runtime/index.js'
import type { GroupOp, SignedOp } from '../governance/ops.js'
import { LocalIssuer, type OpIssuer } from '../governance/issuer.js'
import { startAll, stopAll, type Startable } from '../primitives/lifecycle.js'
import { GroupReplicator } from '../sync/group-replicator.js'
import type { ContextReplicator } from '../sync/context-replicator.js'
import { RemoteDeltas } from '../context/remote-deltas.js'
import type { NodeNetwork } from '../network/transport.js'
import type { NetworkStatus } from '../network/host.js'
import { EventBus } from './event-bus.js'
import { GarbageCollector, type GarbageCollectorOptions } from './garbage-collector.js'
import { instrumentedStore } from './instrumented-store.js'
import { ApplicationRefetch, type MissingApplication } from './application-refetch.js'
import { Networked } from './networked.js'
import { relayEvents } from './relay.js'

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
  /** Methods run on worker threads: at most this many at once [8]. */
  executionWorkers?: number
  /** A method call's wall-clock deadline, ms [10,000]. */
  callDeadlineMs?: number
  /** How long a call may run on the event loop before it moves to a worker (instructions 0: never; see ExecutionPool). */
  inlineSlice?: Partial<InlineSlice>
  /** Where application modules are instrumented at install [in this thread]; merod runs it in a child process. */
  instrument?: Instrumenter
  groupHeartbeatMs?: number
  syncTimeoutMs?: number
  maxConcurrentSyncs?: number
  contextHeartbeatMs?: number
  /** A fresh node takes a snapshot when a peer holds at least this many deltas of a context. */
  snapshotThreshold?: number
  /** Deltas of a context held while a snapshot of it is installed; beyond this they are dropped and synced after [10,000]. */
  maxHeldDeltas?: number
  /** The calls that reach a context in one event-loop turn commit as one delta [true]. */
  coalesceCalls?: boolean
  /** Garbage collection: period, tombstone retention, work per run (defaults: 12 h, 24 h). */
  gc?: Partial<GarbageCollectorOptions>
}

/**
 * The node core: wires the parts (store, governance, contexts, network, sync) and routes events
 * between them. Knows nothing of HTTP, oclif or processes; the daemon owns one.
 *
 * Every long-lived part is Startable; they start in dependency order and stop in reverse. The
 * parts that need a network are built together (`net`) when there is one.
 */
export class MeroNode implements Startable {
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
  /** The worker threads methods run on. */
  readonly executionPool: ExecutionPool
  readonly applications: ApplicationStore
  readonly contexts: ContextManager
  /** Runs the handlers that peers' events name (receivers only). */
  readonly handlers: EventHandlers
  readonly remoteDeltas: RemoteDeltas
  readonly gc: GarbageCollector
  /** The networked parts, when the node has a network. */
  readonly net?: Networked
  /** Installed applications whose bytes are missing from the blobs folder, fetched again from peers. */
  readonly refetch: ApplicationRefetch
  /** Signs, applies and (with a network) publishes this node's governance ops. */
  private readonly issuer: OpIssuer
  private readonly configuredAddresses: string[]
  private readonly parts: Startable[]
  private started = false

  constructor(opts: NodeOptions) {
    this.store = opts.store
    this.identity = opts.identity
    this.events = opts.events ?? new EventBus()
    this.identityBase58 = toBase58(opts.identity.publicKey)
    this.peerId = peerIdFromPublicKey(opts.identity.publicKey)
    this.blobs = new BlobStore(opts.store, opts.blobsDir)
    this.aliases = new AliasStore(opts.store)
    this.groups = new GroupStore(opts.store, new KeyRing(opts.identity, opts.store))
    this.invitations = new IssuedInvitations(opts.store)
    this.runtime = new Runtime({ limits: opts.runtimeLimits, instrumented: instrumentedStore(opts.store), ...(opts.instrument ? { instrument: opts.instrument } : {}) })
    this.executionPool = new ExecutionPool({ runtime: this.runtime, maxWorkers: opts.executionWorkers, deadlineMs: opts.callDeadlineMs, ...(opts.inlineSlice ? { slice: opts.inlineSlice } : {}) })
    this.applications = new ApplicationStore(opts.store, this.blobs, async (bytes) => ({ abi: (await this.runtime.validate(bytes)).abi as ApplicationAbi | undefined }), this.runtime.limits.maxModuleBytes)
    // with a network, this node's governance ops go through the group replicator (which
    // publishes them), so it is built before the contexts that issue ops through it
    const groupReplicator = opts.network
      ? new GroupReplicator(this.groups, opts.identity, opts.network, { heartbeatMs: opts.groupHeartbeatMs ?? 10_000, syncTimeoutMs: opts.syncTimeoutMs, maxConcurrentSyncs: opts.maxConcurrentSyncs, pool: opts.verifierPool })
      : undefined
    this.issuer = groupReplicator ?? new LocalIssuer(this.groups, opts.identity)
    this.contexts = new ContextManager({
      store: opts.store,
      groups: this.groups,
      applications: this.applications,
      runtime: this.runtime,
      executor: this.executionPool,
      identity: opts.identity,
      issuer: this.issuer,
      coalesceCalls: opts.coalesceCalls,
      blobs: { announce: (id, contextId) => this.shareBlob(Buffer.from(id), Buffer.from(contextId)) },
    })
    this.remoteDeltas = new RemoteDeltas({ contexts: this.contexts, groups: this.groups, events: this.contexts.events, checkClock: (hlc) => this.contexts.checkClock(hlc) })
    this.gc = new GarbageCollector(
      { store: opts.store, contexts: this.contexts, blobs: this.blobs, applications: this.applications, events: this.events },
      { intervalMs: 12 * 3600_000, tombstoneRetentionMs: 24 * 3600_000, ...opts.gc },
    )
    this.configuredAddresses = opts.advertisedAddresses ?? []
    if (opts.network && groupReplicator) {
      this.net = new Networked(
        { network: opts.network, groupReplicator, groups: this.groups, contexts: this.contexts, remote: this.remoteDeltas, blobs: this.blobs, applications: this.applications, identity: opts.identity, pool: opts.verifierPool },
        { contextHeartbeatMs: opts.contextHeartbeatMs ?? 10_000, syncTimeoutMs: opts.syncTimeoutMs, maxConcurrentSyncs: opts.maxConcurrentSyncs, snapshotThreshold: opts.snapshotThreshold, maxHeldDeltas: opts.maxHeldDeltas },
      )
    }
    this.refetch = new ApplicationRefetch({ applications: this.applications, groups: this.groups, events: this.events, providers: this.net?.blobs, network: this.net?.network })
    this.handlers = new EventHandlers({ contexts: this.contexts, identity: opts.identity.publicKey })
    this.contexts.events.on('applied', (e) => this.handlers.applied(e.contextId, e.deltas))
    // the execution workers stop last: what stops before them may still be waiting for a call
    this.parts = [this.executionPool, this.handlers, this.groups, this.refetch, ...(this.net?.parts ?? []), this.gc]
    // a module no longer run is forgotten by the runtime; a deleted context no longer holds the blobs its app shared
    this.applications.events.on('moduleDropped', (e) => {
      this.runtime.evict(e.moduleId)
      this.executionPool.forget(e.moduleId)
    })
    this.contexts.events.on('deleted', (e) => this.releaseShared(toBase58(e.contextId)))
    relayEvents(this.events, {
      governance: this.groups.events,
      contexts: this.contexts.events,
      handlers: this.handlers.events,
      replication: this.net ? [this.net.groups.events, this.net.contexts.events] : [],
      network: this.net?.network,
    })
  }

  /** The upgrades interrupted by the last stop that ran again at start, and how each went. */
  resumedUpgrades: { contextId: string; applicationId: string; error?: string }[] = []

  /** What was missing at start (application bytes gone from the blobs folder). */
  get missingApplications(): MissingApplication[] {
    return this.refetch.missingAtStart
  }

  /** The p2p network, when the node has one. */
  get network(): NodeNetwork | undefined {
    return this.net?.network
  }

  /** Group replication (gossip, catch-up, joins by invitation), when the node has a network. */
  get replicator(): GroupReplicator | undefined {
    return this.net?.groups
  }

  /** Context replication (gossip, sync sessions, joins), when the node has a network. */
  get contextReplicator(): ContextReplicator | undefined {
    return this.net?.contexts
  }

  /** Peers of this node's groups found through the DHT, when the node has a network with one. */
  get groupDiscovery(): GroupDiscovery | undefined {
    return this.net?.discovery
  }

  /** Serves, announces and fetches blobs over the network (application bytes for joiners). */
  get blobProviders(): BlobProviders | undefined {
    return this.net?.blobs
  }

  /**
   * The addresses others should dial (invitation hints): what the network listens on, direct
   * addresses first and those through relays after them; else what is configured.
   */
  get advertisedAddresses(): string[] {
    const live = this.network?.listenAddresses() ?? []
    if (!live.length) return this.configuredAddresses
    const relayed = (a: string) => a.includes('/p2p-circuit')
    return [...live.filter((a) => !relayed(a)), ...live.filter(relayed)]
  }

  async start(): Promise<void> {
    await startAll(this.parts)
    this.started = true
    // as the seed's startup: a migration a stop interrupted (a kill) runs again
    this.resumedUpgrades = await this.contexts.resumeUpgrades()
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    await stopAll(this.parts)
  }

  /**
   * Contexts that use an application: those this node holds that run it (after an
   * upgrade, the target, not the application they were registered with), and those registered
   * with it in any group this node holds (it serves the application to their joiners).
   */
  contextsUsing(applicationId: Buffer): Buffer[] {
    const running = this.contexts.list().filter((m) => m.applicationId.equals(applicationId)).map((m) => m.contextId)
    const registered = this.groups.groupIds().flatMap((g) => this.groups.contexts(g).filter((c) => c.applicationId.equals(applicationId)).map((c) => c.contextId))
    return [...new Map([...running, ...registered].map((id) => [idKey(id), id])).values()]
  }

  /**
   * An app shares a blob this node holds with its context's members (blob_announce_to_context):
   * the context holds it (so it is kept, and served to members who joined the context) and the
   * DHT is told. Returns its size, or undefined when this node does not hold it.
   */
  private shareBlob(blobId: Buffer, contextId: Buffer): number | undefined {
    const meta = this.blobs.get(blobId)
    if (!meta) return undefined
    this.blobs.addHolder(blobId, `${CONTEXT_HOLDER}${toBase58(contextId)}`)
    void this.blobProviders?.announce([blobId]).catch(() => undefined)
    return meta.size
  }

  private releaseShared(contextIdBase58: string): void {
    const holder = `${CONTEXT_HOLDER}${contextIdBase58}`
    for (const b of this.blobs.list()) if (b.holders.includes(holder)) this.blobs.release(fromBase58(b.blobId, 'blob id', 32), holder)
  }

  /**
   * A blob shared in a context (a file an app names): from this node's store, or fetched from the
   * context's peers (then the DHT) and kept, held by the context. At most `maxBytes`.
   */
  async sharedBlob(blobId: Buffer, contextId: Buffer, maxBytes = 512 * 1024 * 1024): Promise<void> {
    if (this.blobs.get(blobId)) return
    const meta = this.contexts.require(contextId)
    const net = this.net
    if (!net) throw new MeroError('BlobNotFound', `no blob ${toBase58(blobId)} on this node, and it runs without a network to fetch it`)
    // connected peers first, then the context's other members (one of them shared it), then the DHT
    const { groupId } = meta
    const members = this.groups.context(groupId, contextId)?.members ?? []
    const connected = net.network.connectedPeers()
    const others = members.map((m) => peerIdFromPublicKey(m)).filter((p) => p !== this.peerId && !connected.includes(p))
    const fetched = await net.blobs.fetch(blobId, groupId, [...connected, ...others], maxBytes)
    await this.blobs.add(fetched.bytes, `${CONTEXT_HOLDER}${toBase58(contextId)}`)
    this.events.emit({ type: 'blob.fetched', blobId: toBase58(blobId), contextId: toBase58(contextId), peerId: fetched.peerId, via: fetched.via, size: fetched.bytes.length, durationMs: fetched.durationMs })
  }

  /** Signs, applies and (with a network) publishes a governance op of this node's identity. */
  issueGroupOp(groupId: Uint8Array, op: GroupOp, opts?: IssueOptions): Promise<SignedOp> {
    return this.issuer.issue(groupId, op, opts)
  }

  /**
   * JoinGroup with a token; when the invitation names a context, joins it too (JoinGroupContext):
   * the claim admits this identity to it, and the context's key, app and state follow.
   */
  async joinGroup(token: string): Promise<{ groupId: Buffer; opId: Buffer; fetched: number; contextId?: Buffer; contextSync?: { fetched: number; method: string } }> {
    if (!this.net) throw new MeroError('Unavailable', 'this node runs without a network')
    const r = await this.net.groups.join(token)
    const context = decodeToken(token).invitation.context
    if (!context) return r
    const c = await this.net.contexts.join(context, { retryForMs: 10_000 })
    return { ...r, contextId: c.contextId, contextSync: { fetched: c.fetched, method: c.method } }
  }

  /** Creates a group owned by this node's identity and follows its topic. */
  createGroup(settings: Parameters<GroupStore['createGroup']>[1] = {}): Buffer {
    const { groupId } = this.groups.createGroup(this.identity, settings)
    this.net?.groups.follow(groupId)
    return groupId
  }

  status(): { identity: string; peerId: string; peers: number; listenAddresses: string[]; network?: NetworkStatus } {
    const network = this.network?.status?.()
    return { identity: this.identityBase58, peerId: this.peerId, peers: this.network?.connectedPeers().length ?? 0, listenAddresses: this.network?.listenAddresses() ?? [], ...(network ? { network } : {}) }
  }
}
