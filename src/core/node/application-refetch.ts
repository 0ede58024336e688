import type { BlobProviders } from '../blobs/blob-providers.js'
import type { ApplicationStore } from '../context/applications.js'
import type { GroupStore } from '../governance/group-store.js'
import type { NodeNetwork } from '../network/transport.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { groupIdToString } from '../primitives/ids.js'
import type { Startable } from '../primitives/lifecycle.js'
import type { EventBus } from './event-bus.js'

export interface MissingApplication {
  applicationId: string
  /** The chunk files gone from the blobs folder. */
  chunks: string[]
}

/**
 * Installed applications whose bytes went missing from the blobs folder (deleted by hand, a bad
 * disk, a partial restore): found at start, or by a call that needed them, and fetched again
 * from a peer of a group that uses the application, as a joiner fetches it (blob protocol, then
 * the DHT). What no peer serves yet is tried again when a peer connects. Without a network,
 * what is missing is only reported.
 */
export class ApplicationRefetch implements Startable {
  private readonly pending = new Map<string, Buffer>()
  private running = false
  private offs: (() => void)[] = []
  /** What was missing at the last start. */
  missingAtStart: MissingApplication[] = []

  constructor(
    private readonly d: {
      applications: ApplicationStore
      groups: GroupStore
      events: EventBus
      /** The node's blob providers and network, when it has one. */
      providers?: BlobProviders
      network?: NodeNetwork
    },
  ) {}

  /** Looks for missing bytes, and fetches them when a call finds some missing or a peer connects. */
  start(): void {
    this.missingAtStart = this.scan()
    this.offs = [
      this.d.applications.events.on('missing', (e) => {
        this.mark(e.applicationId)
        void this.retry()
      }),
      ...(this.d.network ? [this.d.network.onPeer(({ connected }) => connected && void this.retry())] : []),
    ]
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off()
  }

  /** Looks for missing bytes; returns what is missing (and will be fetched). */
  scan(): MissingApplication[] {
    const missing = this.d.applications.missing()
    for (const m of missing) this.mark(fromBase58(m.applicationId, 'application id', 32))
    return missing
  }

  mark(applicationId: Buffer): void {
    this.pending.set(applicationId.toString('hex'), applicationId)
  }

  get waiting(): number {
    return this.pending.size
  }

  /** Fetches what is pending from the peers connected now; keeps what none served. */
  async retry(): Promise<void> {
    const providers = this.d.providers
    if (!providers || this.running || this.pending.size === 0) return
    this.running = true
    try {
      for (const [k, id] of this.pending) {
        const groupId = this.groupUsing(id)
        if (!groupId) continue // no group to ask through: only `app install` can bring it back
        try {
          // a package comes as its bundle, checked by its signature (ApplicationStore.restore)
          const fetched = await providers.fetch(id, groupId, this.d.network?.connectedPeers() ?? [], this.d.applications.maxFetchBytes, { application: true })
          const meta = await this.d.applications.restore(fetched.bytes, id)
          this.pending.delete(k)
          this.d.events.emit({ type: 'application.fetched', applicationId: meta.applicationId, groupId: groupIdToString(groupId), peerId: fetched.peerId, via: fetched.via, size: meta.size, durationMs: fetched.durationMs, restored: true })
        } catch {
          // no peer served it yet: tried again when one connects
        }
      }
    } finally {
      this.running = false
    }
  }

  private groupUsing(applicationId: Buffer): Buffer | undefined {
    const groups = this.d.groups
    return groups.groupIds().find((g) => groups.targetApplication(g)?.equals(applicationId) === true || groups.contexts(g).some((c) => c.applicationId.equals(applicationId)))
  }
}
