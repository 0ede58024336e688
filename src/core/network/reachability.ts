import type { Connection, PeerId, Topology } from '@libp2p/interface'
import { isPrivate } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import type { Libp2p } from 'libp2p'

/**
 * Whether others can dial this node, and the relay reservations that make it reachable when they
 * cannot (issue 20).
 *
 * Reachability is libp2p's view of this node's addresses: `public` once an address that is not
 * private (nor loopback, nor relayed) is verified (by AutoNAT's dial-backs from other peers, or
 * announced by the operator with `network.announce`); `private` when the node has no direct
 * address at all (it listens nowhere), or AutoNAT found every public address it tried undialable;
 * `unknown` otherwise (a node with only LAN or loopback addresses, or before AutoNAT has answered).
 *
 * Reservations: while the node is not public, it reserves a slot on each configured relay and, with
 * `auto`, on relays it meets (peers that serve the circuit relay protocol, reached directly), up to
 * `maxRelays` in all; it then advertises `<relay address>/p2p-circuit` addresses. A lost
 * reservation (the relay went away) is made again on the next check, every `checkMs`.
 */
export type Reachability = 'public' | 'private' | 'unknown'

export interface RelayClientOptions {
  /** Relays (multiaddrs ending in /p2p/<relay peer id>) to reserve a slot on while not public. */
  relays: string[]
  /** Also reserve on relays met among connected peers while not public. */
  auto: boolean
  /** Reservations held at once (configured relays first). */
  maxRelays: number
  checkMs?: number
}

export interface RelayReservationInfo {
  relay: string
  /** This node's addresses through that relay. */
  addresses: string[]
  /** Whether the relay is one of `network.relay.relays` (else it was met). */
  configured: boolean
}

export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

type AnyLibp2p = Libp2p<any>

/** The parts of a running libp2p node's components that reachability and reservations read. */
interface Internals {
  addressManager: { getAddressesWithMetadata(): { multiaddr: Multiaddr; verified: boolean; expires: number }[] }
  transportManager: { getAddrs(): Multiaddr[]; listen(addrs: Multiaddr[]): Promise<void>; getTransports(): { [Symbol.toStringTag]?: string }[] }
  registrar: { register(protocol: string, topology: Topology): Promise<string>; unregister(id: string): void }
}

/** libp2p's node exposes its components (typed in its class, not in its interface). */
export function internals(node: AnyLibp2p): Internals {
  return (node as unknown as { components: Internals }).components
}

/** Whether an address goes through a relay. */
export function isRelayed(address: Multiaddr | string): boolean {
  return Circuit.matches(typeof address === 'string' ? multiaddr(address) : address)
}

/** The reachability of a node from its addresses and what AutoNAT found about them. */
export function reachabilityOf(node: AnyLibp2p, listens: boolean): Reachability {
  const direct = internals(node).addressManager.getAddressesWithMetadata().filter((a) => !isRelayed(a.multiaddr))
  if (direct.some((a) => a.verified && !isPrivate(a.multiaddr))) return 'public'
  if (!listens || direct.length === 0) return 'private'
  // AutoNAT tried a public address and could not dial it back (unverified with a verdict's expiry)
  const tried = direct.filter((a) => !isPrivate(a.multiaddr) && a.expires > Date.now())
  if (tried.length > 0 && tried.every((a) => !a.verified)) return 'private'
  return 'unknown'
}

export class RelayClient {
  private timer?: NodeJS.Timeout
  private topologyId?: string
  /** Relays asked for a slot, by peer id, whether configured; kept while the reservation lives. */
  private readonly wanted = new Map<string, { address: Multiaddr; configured: boolean }>()
  private readonly inFlight = new Set<string>()
  private stopped = false

  constructor(
    private readonly node: AnyLibp2p,
    private readonly opts: RelayClientOptions,
    private readonly needsRelay: () => boolean,
  ) {
    for (const r of opts.relays) {
      const ma = multiaddr(r)
      const id = lastPeerId(ma)
      if (!id) throw new Error(`a relay address ends in /p2p/<relay peer id> (got ${r})`)
      this.wanted.set(id, { address: ma, configured: true })
    }
  }

  async start(): Promise<void> {
    if (this.opts.auto) {
      this.topologyId = await internals(this.node).registrar.register(RELAY_HOP_PROTOCOL, {
        onConnect: (peer, conn) => this.met(peer, conn),
      })
    }
    this.check()
    this.timer = setInterval(() => this.check(), this.opts.checkMs ?? 15_000)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
    if (this.topologyId) internals(this.node).registrar.unregister(this.topologyId)
  }

  /** The reservations held now: this node's relayed addresses, by relay. */
  reservations(): RelayReservationInfo[] {
    const byRelay = new Map<string, string[]>()
    for (const a of internals(this.node).transportManager.getAddrs()) {
      if (!isRelayed(a)) continue
      const relay = relayOf(a)
      if (relay) byRelay.set(relay, [...(byRelay.get(relay) ?? []), a.toString()])
    }
    return [...byRelay].map(([relay, addresses]) => ({ relay, addresses, configured: this.wanted.get(relay)?.configured ?? false }))
  }

  /** A peer that serves relays connected: reserve on it when the node needs one and has room. */
  private met(peer: PeerId, conn: Connection): void {
    const id = peer.toString()
    if (this.stopped || this.wanted.has(id) || isRelayed(conn.remoteAddr)) return
    const discovered = [...this.wanted.values()].filter((w) => !w.configured).length
    if (this.opts.relays.length + discovered >= this.opts.maxRelays) return
    const address = lastPeerId(conn.remoteAddr) ? conn.remoteAddr : conn.remoteAddr.encapsulate(`/p2p/${id}`)
    this.wanted.set(id, { address, configured: false })
    this.check()
  }

  /** Reserves on every wanted relay that holds no reservation for us (while the node needs one). */
  private check(): void {
    if (this.stopped || !this.needsRelay()) return
    const held = new Set(this.reservations().map((r) => r.relay))
    let count = held.size
    for (const [id, w] of this.wanted) {
      if (held.has(id) || this.inFlight.has(id)) continue
      if (count >= this.opts.maxRelays) break
      count++
      this.inFlight.add(id)
      internals(this.node).transportManager
        .listen([w.address.encapsulate('/p2p-circuit')])
        .catch(() => {
          // a relay met that refuses or is gone is forgotten; a configured one is tried again
          if (!w.configured) this.wanted.delete(id)
        })
        .finally(() => this.inFlight.delete(id))
    }
  }
}

/** The relay's peer id in a `<relay>/p2p/<relay id>/p2p-circuit/...` address. */
function relayOf(address: Multiaddr): string | undefined {
  const parts = address.getComponents()
  const circuit = parts.findIndex((c) => c.name === 'p2p-circuit')
  for (let i = circuit - 1; i >= 0; i--) if (parts[i]!.name === 'p2p') return parts[i]!.value
  return undefined
}

/** The last /p2p/<peer id> of an address. */
function lastPeerId(address: Multiaddr): string | undefined {
  return address.getComponents().findLast((c) => c.name === 'p2p')?.value
}
