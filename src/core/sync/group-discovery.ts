import type { GroupStore } from '../governance/group-store.js'
import type { KeyPair } from '../crypto/ed25519.js'
import type { ContentRouting, NodeNetwork } from '../network/transport.js'
import { sha256 } from '../primitives/hash.js'
import { idKey } from '../primitives/ids.js'
import type { Startable } from '../primitives/lifecycle.js'
import { groupTopic } from './wire.js'

/**
 * Peers of a group found through the DHT (issue 20): a node that knows one member reaches the rest.
 *
 * - Each group this node is a member of is announced as a provider record under the SHA-256 of
 *   its topic name (`mero/group/<hex>`): the key names the group to those who already know its id,
 *   and to nobody else. kad-dht republishes the records; an announcement that fails (no DHT peer
 *   yet) is tried again when a peer connects.
 * - Every `intervalMs` (and shortly after a peer connects), a group with fewer than `targetPeers`
 *   connected peers on its topic looks up its providers and dials those not connected, so the
 *   group's gossip mesh can form among its members instead of hanging off whoever invited them.
 *   Lookups are one per group and round, and the dials at most `targetPeers` minus those present:
 *   a large group does not make every node dial every other.
 */
export interface GroupDiscoveryDeps {
  groups: GroupStore
  identity: KeyPair
  network: Pick<NodeNetwork, 'peerId' | 'connect' | 'connectedPeers' | 'topicPeers' | 'onPeer'>
  routing: ContentRouting
}

export interface GroupDiscoveryOptions {
  /** How often groups short of peers look for more [30 s]. */
  intervalMs?: number
  /** Connected peers on a group's topic below which its providers are looked up [6]. */
  targetPeers?: number
  lookupTimeoutMs?: number
}

export class GroupDiscovery implements Startable {
  /** Counters since start: announcements made and failed, lookups, peers dialled and reached. */
  readonly stats = { announced: 0, announceFailures: 0, lookups: 0, dialled: 0, connected: 0 }
  private readonly announced = new Set<string>()
  private timer?: NodeJS.Timeout
  private soon?: NodeJS.Timeout
  private running = false
  private stopped = false
  private offs: (() => void)[] = []
  private readonly intervalMs: number
  private readonly targetPeers: number

  constructor(
    private readonly d: GroupDiscoveryDeps,
    private readonly opts: GroupDiscoveryOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 30_000
    this.targetPeers = opts.targetPeers ?? 6
  }

  start(): void {
    this.stopped = false
    this.offs = [
      this.d.network.onPeer(({ connected }) => {
        if (connected) this.roundSoon()
      }),
      this.d.groups.events.on('member.added', (e) => {
        if (e.identity.equals(this.d.identity.publicKey)) this.roundSoon()
      }),
    ]
    this.timer = setInterval(() => void this.round(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.soon) clearTimeout(this.soon)
    for (const off of this.offs.splice(0)) off()
  }

  /** The DHT key of a group: the SHA-256 of its topic name. */
  static keyOf(groupId: Uint8Array): Buffer {
    return sha256(groupTopic(idKey(groupId)))
  }

  /** A round a moment from now (peers connecting in a burst make one round). */
  private roundSoon(): void {
    if (this.soon || this.stopped) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.round()
    }, 500)
    this.soon.unref()
  }

  /** Announces the groups not announced yet, then looks for peers of the groups short of them. */
  async round(): Promise<void> {
    if (this.running || this.stopped) return
    this.running = true
    try {
      const groups = this.d.groups.groupIds().filter((g) => this.d.groups.isMember(g, this.d.identity.publicKey) && !this.d.groups.deleted(g))
      for (const g of groups) {
        if (this.announced.has(idKey(g)) || this.stopped) continue
        try {
          await this.d.routing.provide(GroupDiscovery.keyOf(g))
          this.announced.add(idKey(g))
          this.stats.announced++
        } catch {
          // no DHT peer to hold the record yet: the next round (a peer connecting) tries again
          this.stats.announceFailures++
          break
        }
      }
      for (const g of groups) {
        if (this.stopped) break
        await this.fill(g)
      }
    } finally {
      this.running = false
    }
  }

  /** Dials providers of the group while fewer than `targetPeers` of its peers are connected. */
  private async fill(groupId: Buffer): Promise<void> {
    const present = new Set(this.d.network.topicPeers(groupTopic(idKey(groupId))))
    const wanted = this.targetPeers - present.size
    if (wanted <= 0) return
    this.stats.lookups++
    const providers = await this.d.routing
      .findProviders(GroupDiscovery.keyOf(groupId), { timeoutMs: this.opts.lookupTimeoutMs ?? 5_000, limit: this.targetPeers * 2 })
      .catch(() => [])
    const connected = new Set(this.d.network.connectedPeers())
    const fresh = providers.filter((p) => p.peerId !== this.d.network.peerId && !present.has(p.peerId) && !connected.has(p.peerId) && p.addresses.length > 0)
    await Promise.all(
      fresh.slice(0, wanted).map(async (p) => {
        this.stats.dialled++
        for (const a of p.addresses) {
          try {
            await this.d.network.connect(a.includes('/p2p/') ? a : `${a}/p2p/${p.peerId}`)
            this.stats.connected++
            return
          } catch {
            // the next address
          }
        }
      }),
    )
  }
}
