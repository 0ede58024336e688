import { AliasStore } from '../aliases/alias-store.js'
import { BlobStore } from '../blobs/blob-store.js'
import type { KeyPair } from '../crypto/ed25519.js'
import { GroupStore } from '../gov/group-store.js'
import { IssuedInvitations } from '../gov/issued-invitations.js'
import { toBase58 } from '../primitives/encoding.js'
import { peerIdFromPublicKey } from '../primitives/ids.js'
import type { Store } from '../store/store.js'
import { EventBus } from './event-bus.js'

export interface NodeOptions {
  store: Store
  identity: KeyPair
  /** Where blob chunks are stored (the node folder's blobs/). */
  blobsDir: string
  /** Multiaddrs this node tells others to dial (invitation hints). */
  advertisedAddresses?: string[]
  events?: EventBus
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
  readonly advertisedAddresses: string[]
  private started = false

  constructor(opts: NodeOptions) {
    this.store = opts.store
    this.identity = opts.identity
    this.events = opts.events ?? new EventBus()
    this.identityBase58 = toBase58(opts.identity.publicKey)
    this.peerId = peerIdFromPublicKey(opts.identity.publicKey)
    this.blobs = new BlobStore(opts.store, opts.blobsDir)
    this.aliases = new AliasStore(opts.store)
    this.groups = new GroupStore(opts.store, this.events)
    this.invitations = new IssuedInvitations(opts.store)
    this.advertisedAddresses = opts.advertisedAddresses ?? []
  }

  async start(): Promise<void> {
    this.groups.load()
    this.started = true
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
  }

  status(): { identity: string; peerId: string; peers: number } {
    return { identity: this.identityBase58, peerId: this.peerId, peers: 0 }
  }
}
