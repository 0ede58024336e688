import type { ConnectionGater, PeerId } from '@libp2p/interface'

/**
 * Limits per peer (issue 17, item 7), so that one peer cannot take the node's time from the others:
 *
 * - inbound streams of the node's own protocols in progress at once, per peer (beyond it a stream
 *   is refused at once, before any work is done for it);
 * - connections at once, per peer (an extra inbound connection is refused once upgraded);
 * - strikes: each invalid message a peer delivers (a gossip message the validators reject, a
 *   malformed first frame on a stream) and each stream refused for being over its limit adds one.
 *   Strikes leak away at `strikesBeforeBan` per `strikeWindowMs`, so an honest peer that trips once
 *   in a while is never banned; one that keeps at it is disconnected and refused (dials both ways,
 *   its inbound connections) for `banMs`.
 *
 * State is bounded: at most MAX_TRACKED peers are remembered (the one struck longest ago goes).
 */
export interface PeerLimits {
  /** Inbound streams of mero protocols in progress at once from one peer [32]. */
  inboundStreamsPerPeer: number
  /** Connections at once with one peer [4]. */
  connectionsPerPeer: number
  /** Strikes (invalid messages, refused streams) that get a peer banned [20]. */
  strikesBeforeBan: number
  /** Strikes leak away at `strikesBeforeBan` per this period [60 s]. */
  strikeWindowMs: number
  /** How long a banned peer stays disconnected and refused [5 min]. */
  banMs: number
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  inboundStreamsPerPeer: 32,
  connectionsPerPeer: 4,
  strikesBeforeBan: 20,
  strikeWindowMs: 60_000,
  banMs: 5 * 60_000,
}

export type StrikeReason = 'invalid-message' | 'stream-flood' | 'malformed-frame'

/** A peer was banned: disconnect it now. */
export interface PeerBanned {
  peerId: string
  reason: StrikeReason
  untilMs: number
  strikes: number
}

const MAX_TRACKED = 4096

interface PeerState {
  /** Strikes as of `at` (they leak away over time). */
  strikes: number
  at: number
  inbound: number
  bannedUntil?: number
  reason?: StrikeReason
}

export class PeerGuard {
  readonly limits: PeerLimits
  private readonly peers = new Map<string, PeerState>()
  /** Bans since start, by the reason of their last strike. */
  readonly bans: Partial<Record<StrikeReason, number>> = {}
  /** Connections with a peer, as far as the gater sees them (inbound refused above the limit). */
  private connectionCount: (peerId: string) => number = () => 0

  constructor(
    limits: Partial<PeerLimits> = {},
    private readonly onBan?: (e: PeerBanned) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_PEER_LIMITS, ...limits }
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`peer limit ${k} must be a positive integer (got ${v})`)
    }
  }

  /** Where the gater reads how many connections a peer has (the running libp2p node). */
  countConnectionsWith(count: (peerId: string) => number): void {
    this.connectionCount = count
  }

  /** Whether the peer is banned now. */
  isBanned(peerId: string): boolean {
    const s = this.peers.get(peerId)
    return s?.bannedUntil !== undefined && s.bannedUntil > this.now()
  }

  /** Peers banned now, with when their ban ends. */
  banned(): { peerId: string; untilMs: number; reason: StrikeReason }[] {
    const now = this.now()
    return [...this.peers].filter(([, s]) => s.bannedUntil !== undefined && s.bannedUntil > now).map(([peerId, s]) => ({ peerId, untilMs: s.bannedUntil!, reason: s.reason! }))
  }

  /** Counts a strike; returns true when it got the peer banned (the peer:banned event went out). */
  strike(peerId: string, reason: StrikeReason, weight = 1): boolean {
    const now = this.now()
    const s = this.state(peerId, now)
    if (s.bannedUntil !== undefined && s.bannedUntil > now) return false
    const leak = ((now - s.at) / this.limits.strikeWindowMs) * this.limits.strikesBeforeBan
    s.strikes = Math.max(0, s.strikes - leak) + weight
    s.at = now
    // rounded: strikes of one burst leak a little between them, and still count whole
    if (Math.round(s.strikes) < this.limits.strikesBeforeBan) return false
    s.bannedUntil = now + this.limits.banMs
    s.reason = reason
    const strikes = Math.round(s.strikes)
    s.strikes = 0
    this.bans[reason] = (this.bans[reason] ?? 0) + 1
    this.onBan?.({ peerId, reason, untilMs: s.bannedUntil, strikes })
    return true
  }

  /**
   * An inbound stream of one of the node's protocols arrives: returns its release, or undefined
   * when the peer is over its limit (or banned): then the stream is refused, and that is a strike.
   */
  admitStream(peerId: string): (() => void) | undefined {
    const now = this.now()
    const s = this.state(peerId, now)
    if ((s.bannedUntil !== undefined && s.bannedUntil > now) || s.inbound >= this.limits.inboundStreamsPerPeer) {
      this.strike(peerId, 'stream-flood')
      return undefined
    }
    s.inbound++
    let released = false
    return () => {
      if (released) return
      released = true
      s.inbound--
    }
  }

  /** Inbound streams in progress from a peer. */
  inboundStreams(peerId: string): number {
    return this.peers.get(peerId)?.inbound ?? 0
  }

  /** libp2p's connection gater: banned peers are neither dialled nor let in; extra connections are refused. */
  gater(): ConnectionGater {
    const banned = (peer: PeerId) => this.isBanned(peer.toString())
    return {
      denyDialPeer: banned,
      denyInboundEncryptedConnection: banned,
      denyOutboundEncryptedConnection: banned,
      denyInboundUpgradedConnection: (peer) => banned(peer) || this.connectionCount(peer.toString()) >= this.limits.connectionsPerPeer,
      denyInboundRelayReservation: banned,
      denyInboundRelayedConnection: (relay, remote) => banned(relay) || banned(remote),
      denyOutboundRelayedConnection: (source, destination) => banned(source) || banned(destination),
    }
  }

  private state(peerId: string, now: number): PeerState {
    let s = this.peers.get(peerId)
    if (s) {
      // most recently struck last: the first entry is the one to evict
      this.peers.delete(peerId)
      this.peers.set(peerId, s)
      return s
    }
    s = { strikes: 0, at: now, inbound: 0 }
    this.peers.set(peerId, s)
    if (this.peers.size > MAX_TRACKED) this.evict(now)
    return s
  }

  /** Forgets the least recently seen peer that is neither banned nor holding streams. */
  private evict(now: number): void {
    for (const [id, s] of this.peers) {
      if (s.inbound > 0 || (s.bannedUntil !== undefined && s.bannedUntil > now)) continue
      this.peers.delete(id)
      return
    }
  }
}
