import { BlobProviders } from '../blobs/blob-providers.js'
import type { BlobStore } from '../blobs/blob-store.js'
import type { ApplicationStore } from '../context/applications.js'
import type { ContextManager } from '../context/context-manager.js'
import type { RemoteDeltas } from '../context/remote-deltas.js'
import type { KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import type { GroupStore } from '../governance/group-store.js'
import type { NodeNetwork } from '../network/transport.js'
import { fromBase58 } from '../primitives/encoding.js'
import type { Startable } from '../primitives/lifecycle.js'
import { ContextReplicator } from '../sync/context-replicator.js'
import { GroupDiscovery } from '../sync/group-discovery.js'
import type { GroupReplicator } from '../sync/group-replicator.js'
import { KeyKeeper } from '../sync/key-keeper.js'
import { SyncServer } from '../sync/sync-server.js'

/**
 * The parts a node has only with a network, built together: group and context replication, the
 * one sync protocol server routing to both, and blob providers. The group replicator comes in
 * built, because the contexts issue their governance ops through it (signed, applied, published).
 */
export interface NetworkedDeps {
  network: NodeNetwork
  groupReplicator: GroupReplicator
  groups: GroupStore
  contexts: ContextManager
  remote: RemoteDeltas
  blobs: BlobStore
  applications: ApplicationStore
  identity: KeyPair
  pool?: VerifierPool
}

export interface NetworkedOptions {
  contextHeartbeatMs: number
  syncTimeoutMs?: number
  maxConcurrentSyncs?: number
  snapshotThreshold?: number
  /** How often groups short of connected peers look for more in the DHT. */
  groupDiscoveryMs?: number
  maxHeldDeltas?: number
}

export class Networked implements Startable {
  readonly network: NodeNetwork
  readonly groups: GroupReplicator
  readonly contexts: ContextReplicator
  readonly blobs: BlobProviders
  /** Keeps this node's keys current: fetches missing ones, rotates stale ones. */
  readonly keys: KeyKeeper
  /** Peers of this node's groups found in the DHT (when the network has one). */
  readonly discovery?: GroupDiscovery
  private readonly sync: SyncServer
  private offs: (() => void)[] = []

  constructor(
    private readonly d: NetworkedDeps,
    opts: NetworkedOptions,
  ) {
    this.network = d.network
    this.groups = d.groupReplicator
    this.blobs = new BlobProviders(
      { blobs: d.blobs, groups: d.groups, identity: d.identity, network: d.network, routing: d.network.routing, resolve: (id) => d.applications.servedBlobOf(id) },
      { timeoutMs: opts.syncTimeoutMs },
    )
    this.contexts = new ContextReplicator(
      { contexts: d.contexts, remote: d.remote, groups: d.groups, identity: d.identity, network: d.network, issuer: this.groups, applications: d.applications, blobProviders: this.blobs, pool: d.pool },
      { heartbeatMs: opts.contextHeartbeatMs, syncTimeoutMs: opts.syncTimeoutMs, maxConcurrentSyncs: opts.maxConcurrentSyncs, snapshotThreshold: opts.snapshotThreshold, maxHeldDeltas: opts.maxHeldDeltas },
    )
    this.keys = new KeyKeeper({ groups: d.groups, contexts: d.contexts, identity: d.identity, groupReplicator: this.groups, contextReplicator: this.contexts })
    if (d.network.routing) this.discovery = new GroupDiscovery({ groups: d.groups, identity: d.identity, network: d.network, routing: d.network.routing }, { intervalMs: opts.groupDiscoveryMs })
    this.sync = new SyncServer(d.network, {
      group: (channel, peerId) => this.groups.serve(channel, peerId),
      context: (channel, hello) => this.contexts.serve(channel, hello),
    })
  }

  /** In start order (they stop in reverse). */
  get parts(): Startable[] {
    return [this.network, this.sync, this.blobs, this.groups, this.contexts, this.keys, ...(this.discovery ? [this.discovery] : []), this]
  }

  /** Wires the parts to the peers that connect and to the applications installed. */
  start(): void {
    this.offs = [
      this.network.onPeer(({ peerId, connected }) => {
        if (!connected) return
        this.groups.peerConnected(peerId)
        this.contexts.peerConnected(peerId)
        void this.blobs.announcePending()
      }),
      this.d.applications.events.on('installed', (e) => void this.blobs.announce([e.applicationId]).catch(() => undefined)),
    ]
    void this.blobs.announce(this.d.applications.list().map((a) => fromBase58(a.applicationId, 'application id', 32))).catch(() => undefined)
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off()
  }
}
