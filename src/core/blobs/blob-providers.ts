import type { KeyPair } from '../crypto/ed25519.js'
import type { GroupStore } from '../governance/group-store.js'
import { toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { memberAuth } from '../governance/stream-auth.js'
import type { ContentRouting, PeerNetwork } from '../network/transport.js'
import type { BlobStore } from './blob-store.js'
import { fetchBlob, serveBlob } from './blob-transfer.js'
import { BLOB_PROTOCOL } from './blob-wire.js'

/**
 * Where blobs come from and who is told about them: this node serves `/mero/blob/1.0.0`,
 * announces the blobs it serves in the DHT, and fetches a blob by asking the peers it is given
 * first (a joiner: the peer that gave it the context key), then the DHT's providers.
 */
export interface BlobProvidersDeps {
  blobs: BlobStore
  groups: GroupStore
  identity: KeyPair
  network: PeerNetwork
  /** The DHT; without it only the given peers are asked and nothing is announced. */
  routing?: ContentRouting
  /** What is sent for a requested id (a package's bundle for its application id). */
  resolve?: (id: Buffer) => Buffer | undefined
}

export interface BlobProvidersOptions {
  timeoutMs?: number
  transferTimeoutMs?: number
  providerLookupMs?: number
  maxProviders?: number
}

export interface FetchedBlob {
  bytes: Buffer
  peerId: string
  via: 'peer' | 'dht'
  durationMs: number
}

export class BlobProviders {
  /** Counters since start (read by the daemon's metrics). */
  readonly stats = { served: 0, servedBytes: 0, refused: 0, fetched: 0, fetchedBytes: 0, fetchFailures: 0, announced: 0, announceFailures: 0, withdrawn: 0 }
  private readonly unannounced = new Map<string, Buffer>()
  private announcing = false
  private offDeleted?: () => void

  constructor(
    private readonly d: BlobProvidersDeps,
    private readonly opts: BlobProvidersOptions = {},
  ) {}

  /** Serves the protocol, and stops announcing each blob this node deletes. */
  start(): void {
    this.offDeleted?.()
    this.offDeleted = this.d.blobs.events.on('deleted', (e) => void this.withdraw(e.blobId).catch(() => undefined))
    this.d.network.handle(BLOB_PROTOCOL, (channel) => {
      void serveBlob(channel, { blobs: this.d.blobs, groups: this.d.groups, self: this.d.network.peerId, ...(this.d.resolve ? { resolve: this.d.resolve } : {}) }, { timeoutMs: this.opts.timeoutMs })
        .then((r) => {
          if (r.refused) this.stats.refused++
          else {
            this.stats.served++
            this.stats.servedBytes += r.bytes
          }
        })
        .catch(() => undefined)
    })
  }

  stop(): void {
    this.offDeleted?.()
    this.offDeleted = undefined
  }

  /**
   * Announces in the DHT that this node provides these blobs. An announcement that fails (no DHT
   * peer yet) stays pending until `announcePending` runs again (when a peer connects).
   */
  announce(blobIds: Buffer[]): Promise<void> {
    for (const id of blobIds) this.unannounced.set(id.toString('hex'), id)
    return this.announcePending()
  }

  async announcePending(): Promise<void> {
    if (!this.d.routing || this.announcing) return
    this.announcing = true
    try {
      for (const [k, id] of this.unannounced) {
        try {
          await this.d.routing.provide(id)
          this.unannounced.delete(k)
          this.stats.announced++
        } catch {
          // the DHT has no peer to store it yet: the rest would fail the same way
          this.stats.announceFailures++
          break
        }
      }
    } finally {
      this.announcing = false
    }
  }

  /**
   * This node no longer holds the blob: it stops announcing it (before, the DHT re-announced
   * a deleted application every day, and peers kept asking this node for it). A withdrawal
   * that fails (no DHT) leaves nothing to undo: the record is this node's own.
   */
  async withdraw(blobId: Buffer): Promise<void> {
    this.unannounced.delete(blobId.toString('hex'))
    if (!this.d.routing) return
    await this.d.routing.withdraw(blobId)
    this.stats.withdrawn++
  }

  /** Blobs not announced yet. */
  get pendingAnnouncements(): number {
    return this.unannounced.size
  }

  /**
   * Fetches a blob that group `groupId` uses from `peers` in order, then from DHT providers not
   * asked yet. Throws BlobNotFound (with every peer's answer) when none served it. With
   * `application`, the id is an application's, which may come as a package's bundle (the caller
   * checks its signature).
   */
  async fetch(blobId: Buffer, groupId: Buffer, peers: string[], maxBytes: number, options: { application?: boolean } = {}): Promise<FetchedBlob> {
    const started = Date.now()
    const asked = new Set<string>([this.d.network.peerId])
    const errors: string[] = []
    const attempt = async (peerId: string, addresses?: string[]): Promise<Buffer | undefined> => {
      asked.add(peerId)
      try {
        const channel = await this.d.network.open(peerId, BLOB_PROTOCOL, addresses)
        return await fetchBlob(channel, blobId, {
          groupId,
          auth: memberAuth(this.d.identity, peerId),
          maxBytes,
          timeoutMs: this.opts.timeoutMs,
          transferTimeoutMs: this.opts.transferTimeoutMs,
          ...(options.application ? { contentAddressed: false } : {}),
        })
      } catch (e) {
        errors.push(`${peerId}: ${(e as Error).message}`)
        return undefined
      }
    }
    const done = (bytes: Buffer, peerId: string, via: FetchedBlob['via']): FetchedBlob => {
      this.stats.fetched++
      this.stats.fetchedBytes += bytes.length
      return { bytes, peerId, via, durationMs: Date.now() - started }
    }
    for (const p of peers) {
      if (asked.has(p)) continue
      const bytes = await attempt(p)
      if (bytes) return done(bytes, p, 'peer')
    }
    if (this.d.routing) {
      const providers = await this.d.routing.findProviders(blobId, { timeoutMs: this.opts.providerLookupMs ?? 5_000, limit: this.opts.maxProviders ?? 8 }).catch((e: Error) => {
        errors.push(`DHT: ${e.message}`)
        return []
      })
      for (const p of providers) {
        if (asked.has(p.peerId)) continue
        const bytes = await attempt(p.peerId, p.addresses)
        if (bytes) return done(bytes, p.peerId, 'dht')
      }
    }
    this.stats.fetchFailures++
    throw new MeroError('BlobNotFound', `no peer served blob ${toBase58(blobId)}${errors.length ? `: ${errors.join('; ')}` : ' (no peer to ask and no provider found)'}`)
  }
}
