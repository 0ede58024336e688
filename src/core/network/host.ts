import './shim.js'
import { setMaxListeners } from 'node:events'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Connection, PeerId } from '@libp2p/interface'
import { keyPairFromSeed } from '../crypto/ed25519.js'
import type { Emitter } from '../primitives/emitter.js'
import { MeroError } from '../primitives/errors.js'
import { peerIdFromPublicKey } from '../primitives/ids.js'
import { gossipsubOptions, type GossipTuning } from './gossip-options.js'
import { noiseCrypto } from './noise-crypto.js'
import { PeerGuard, type PeerLimits } from './peer-guard.js'
import { internals, isRelayed, reachabilityOf, RelayClient, type Reachability, type RelayReservationInfo } from './reachability.js'

/**
 * The libp2p 3 host (DESIGN §9, issue 20), keyed by the node's Ed25519 identity (so the libp2p peer
 * id is the node's):
 *
 * - transports: tcp, circuit relay v2 (dial and listen through relays), and QUIC when a listen
 *   address asks for it (`/udp/<port>/quic-v1`; the module is loaded only then);
 * - noise, yamux, identify, ping, gossipsub, kad-dht;
 * - reachability: AutoNAT (peers dial our public addresses back), DCUtR (a relayed connection is
 *   upgraded to a direct one by hole punching when both sides can), announced addresses, and
 *   relay reservations while the node is not public (reachability.ts);
 * - a relay server when `relay.serve` is set, with its limits;
 * - mDNS discovery when `mdns` is set: the peers it finds are dialled;
 * - limits per peer (peer-guard.ts): the gater refuses banned peers and extra connections.
 *
 * It starts and stops the host, dials (the bootstrap and known peers at start, and again while
 * alone), and reports peers connecting, going and identifying themselves. Topics, streams and
 * content routing are pubsub.ts, streams.ts and routing.ts.
 */
export interface HostOptions {
  /** The node's 32-byte Ed25519 seed (the private key of `identity.key`). */
  seed: Uint8Array
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/0`. */
  listen: string[]
  /** Multiaddrs (with `/p2p/<peer id>`) dialled at start, and again while no peer is connected. */
  bootstrap?: string[]
  dialTimeoutMs?: number
  /** How often to redial the bootstrap peers (and `knownPeers`) while no peer is connected. */
  redialMs?: number
  /** More peers to dial at start and while alone (e.g. a peer book). */
  knownPeers?: () => { peerId: string; addresses: string[] }[]
  /** After this long, stop() aborts the remaining connections instead of closing them gracefully. */
  stopTimeoutMs?: number
  gossip?: Partial<GossipTuning>
  /** Gossipsub's inbound RPC bound is kept above this (the largest gossip message). */
  maxMessageBytes: number
  dht?: { protocol?: string; clientMode?: boolean }
  /** Addresses (public ones, e.g. behind a port forward) advertised besides the listen addresses. */
  announce?: string[]
  /** Discover and dial peers on the local network with multicast DNS. */
  mdns?: boolean | { intervalMs?: number }
  relay?: RelayOptions
  limits?: Partial<PeerLimits>
}

export interface RelayOptions {
  /** Serve as a circuit relay for other nodes, with these limits; false or absent: do not. */
  serve?: false | RelayServeLimits
  /** Relays to reserve a slot on while this node is not publicly reachable. */
  relays?: string[]
  /** Also reserve on relays met among connected peers while not public [true]. */
  auto?: boolean
  /** Reservations held at once [2]. */
  maxRelays?: number
}

export interface RelayServeLimits {
  /** Nodes that may hold a reservation here at once. */
  maxReservations: number
  /** How long one relayed connection may last, ms (0: no limit). */
  durationLimitMs: number
  /** How many bytes one relayed connection may carry, each way (0: no limit). */
  dataLimitBytes: number
  /** How long a reservation lasts before it must be renewed, ms. */
  reservationTtlMs: number
}

/** How a connection to a peer is made. */
export interface ConnectionInfo {
  address: string
  direction: 'inbound' | 'outbound'
  /** `direct`, or `relayed` through another node (circuit relay v2). */
  via: 'direct' | 'relayed'
  /** The transport under it: tcp, quic, or the relay's transport for a relayed one. */
  transport: string
  /** The relay's peer id, for a relayed connection. */
  relay?: string
  /** A relayed connection with a data or time limit (the relay's). */
  limited?: boolean
}

export interface NetworkStatus {
  reachability: Reachability
  /** Addresses others may dial: verified listen addresses, announced and relayed ones. */
  addresses: string[]
  relay: {
    /** Whether this node serves as a relay, and for how many nodes now. */
    serving: boolean
    clients: number
    /** Reservations this node holds on relays. */
    reservations: RelayReservationInfo[]
  }
  transports: string[]
  mdns: boolean
  /** Peers banned now for flooding or invalid messages. */
  banned: { peerId: string; untilMs: number; reason: string }[]
}

export interface PeerInfo {
  peerId: string
  addresses: string[]
  /** Round-trip time measured by libp2p's connection monitor, when known. */
  latencyMs?: number
  /** `direct` when any connection to the peer is, else `relayed`. */
  via: 'direct' | 'relayed'
  connections: ConnectionInfo[]
}

export interface GossipMessage {
  topic: string
  /** The peer that delivered the message (StrictNoSign messages carry no origin). */
  from: string
  data: Uint8Array
  msgId?: string
}

/** What the network reports (Libp2pNetwork.on). */
export interface NetworkEvents {
  message: GossipMessage
  'peer:connected': { peerId: string }
  'peer:disconnected': { peerId: string }
  /** identify finished: the peer's own listen addresses. */
  'peer:identified': { peerId: string; listenAddresses: string[] }
  'subscription:change': { peerId: string; topic: string; subscribed: boolean }
  /** A peer was banned for flooding or invalid messages (and disconnected). */
  'peer:banned': { peerId: string; reason: string; untilMs: number; strikes: number }
  /** An inbound stream was refused: the protocol's concurrency limit was reached. */
  'stream:refused': { peerId: string; protocol: string }
}

export type Services = {
  pubsub: GossipSub
  ping: { ping(peer: PeerId | Multiaddr, options?: { signal?: AbortSignal }): Promise<number> }
  relay?: { reservations: { size: number } }
  mdns?: EventTarget
}

export class Host {
  private node?: Libp2p<Services>
  private lifetimeCtrl = new AbortController()
  private offBanned?: () => void
  private redial?: NodeJS.Timeout
  private relayClient?: RelayClient
  readonly peerId: string
  /** Limits per peer: streams, connections, strikes and bans. */
  readonly guard: PeerGuard
  private readonly opts: Required<Pick<HostOptions, 'bootstrap' | 'dialTimeoutMs' | 'redialMs' | 'stopTimeoutMs'>> & HostOptions

  constructor(
    options: HostOptions,
    private readonly events: Emitter<NetworkEvents>,
  ) {
    if (!(options.seed instanceof Uint8Array) || options.seed.byteLength !== 32) {
      throw new MeroError('InvalidInput', 'the network key must be a 32-byte Ed25519 seed')
    }
    for (const a of options.listen) parseMultiaddr(a, 'listen address')
    for (const a of options.bootstrap ?? []) parseMultiaddr(a, 'bootstrap address')
    for (const a of options.announce ?? []) parseMultiaddr(a, 'announce address')
    for (const a of options.relay?.relays ?? []) {
      if (!/\/p2p\/\w+$/.test(parseMultiaddr(a, 'relay address').toString())) throw new MeroError('InvalidInput', `a relay address ends in /p2p/<relay peer id> (got ${JSON.stringify(a)})`)
    }
    this.guard = new PeerGuard(options.limits, (e) => events.emit('peer:banned', e))
    this.opts = { ...options, bootstrap: options.bootstrap ?? [], dialTimeoutMs: options.dialTimeoutMs ?? 5_000, redialMs: options.redialMs ?? 5_000, stopTimeoutMs: options.stopTimeoutMs ?? 2_000 }
    this.peerId = peerIdFromPublicKey(keyPairFromSeed(options.seed).publicKey)
  }

  get started(): boolean {
    return this.node !== undefined
  }

  /** The running libp2p node; Unavailable when the host is not started. */
  get libp2p(): Libp2p<Services> {
    if (!this.node) throw new MeroError('Unavailable', 'the p2p network is not started')
    return this.node
  }

  /** Aborted when the host stops: whatever is in flight on the network ends with it. */
  get lifetime(): AbortSignal {
    return this.lifetimeCtrl.signal
  }

  /** Whether the host listens anywhere directly (a node that does not is reachable only through relays). */
  private get listens(): boolean {
    return this.opts.listen.some((a) => !a.includes('/p2p-circuit'))
  }

  /** Creates and starts the libp2p node; resolves with it, or undefined when it was already running. */
  async start(): Promise<Libp2p<Services> | undefined> {
    if (this.node) return undefined
    const privateKey = await generateKeyPairFromSeed('Ed25519', this.opts.seed)
    const gossip = gossipsubOptions({ maxInboundRpcBytes: Math.max(4 * 1024 * 1024, 2 * this.opts.maxMessageBytes), ...this.opts.gossip })
    const node = await createLibp2p({
      privateKey,
      addresses: { listen: this.opts.listen, appendAnnounce: this.opts.announce ?? [] },
      transports: [tcp(), circuitRelayTransport({ reservationCompletionTimeout: this.opts.dialTimeoutMs }), ...(await this.optionalTransports())],
      connectionEncrypters: [noise({ crypto: noiseCrypto })],
      // a connection carries at most this many inbound streams at once: beyond it yamux resets
      // them before any protocol negotiation (the per-peer limit of our protocols is lower)
      streamMuxers: [yamux({ maxInboundStreams: 256 })],
      connectionGater: this.guard.gater(),
      services: {
        identify: identify(),
        // libp2p's connection monitor pings every peer on the same protocol, and aborts the
        // connection when its ping fails: with one outbound ping stream per peer (the default),
        // a user's ping at that moment failed, or made the monitor's fail and cut the connection
        ping: ping({ maxOutboundStreams: 2 }),
        pubsub: gossipsub({ ...gossip, runOnLimitedConnection: true }),
        dht: kadDHT({
          protocol: this.opts.dht?.protocol ?? '/mero/kad/1.0.0',
          // a node others cannot dial directly serves no DHT records: it only asks
          clientMode: this.opts.dht?.clientMode ?? !this.listens,
          // keep loopback and private addresses: mero runs on LANs and in tests on 127.0.0.1
          peerInfoMapper: passthroughMapper,
        }),
        autonat: autoNAT(),
        dcutr: dcutr(),
        ...(await this.optionalServices()),
      },
    })
    this.node = node as unknown as Libp2p<Services>
    this.lifetimeCtrl = new AbortController()
    // one listener per request in flight
    setMaxListeners(Infinity, this.lifetimeCtrl.signal)
    this.guard.countConnectionsWith((peerId) => this.node?.getConnections(parsePeerId(peerId)).length ?? 0)
    node.addEventListener('peer:connect', (evt) => this.events.emit('peer:connected', { peerId: evt.detail.toString() }))
    node.addEventListener('peer:disconnect', (evt) => this.events.emit('peer:disconnected', { peerId: evt.detail.toString() }))
    node.addEventListener('peer:identify', (evt) => {
      const { peerId, listenAddrs } = evt.detail
      this.events.emit('peer:identified', { peerId: peerId.toString(), listenAddresses: listenAddrs.map((a) => a.toString()) })
    })
    this.offBanned = this.events.on('peer:banned', (e) => void this.node?.hangUp(parsePeerId(e.peerId)).catch(() => undefined))
    this.node.services.mdns?.addEventListener('peer', (evt) => this.discovered((evt as CustomEvent<{ id: PeerId; multiaddrs: Multiaddr[] }>).detail))
    const relay = this.opts.relay ?? {}
    if ((relay.relays?.length ?? 0) > 0 || relay.auto !== false) {
      this.relayClient = new RelayClient(node, { relays: relay.relays ?? [], auto: relay.auto !== false, maxRelays: relay.maxRelays ?? 2 }, () => this.reachability() !== 'public')
      await this.relayClient.start()
    }
    return this.node
  }

  /**
   * QUIC, when a listen address asks for it. @chainsafe/libp2p-quic is not a dependency: its
   * native packages for other platforms are missing from the registry mirror `npm ci` runs
   * against here (so the lock file cannot be complete), and it asks for Node 22. An operator who
   * wants QUIC installs it beside mero; it connects on Node 20 with our Promise.withResolvers shim.
   */
  private async optionalTransports(): Promise<any[]> {
    const asked = this.opts.listen.filter((a) => a.includes('/quic-v1'))
    if (!asked.length) return []
    const specifier = '@chainsafe/libp2p-quic'
    const loaded = (await import(specifier).catch(() => undefined)) as { quic?: () => unknown } | undefined
    if (!loaded?.quic) throw new MeroError('ConfigInvalid', `network.listen asks for QUIC (${asked.join(', ')}), which needs the optional package @chainsafe/libp2p-quic: install it beside mero (npm install @chainsafe/libp2p-quic), or listen on TCP only`)
    return [loaded.quic()]
  }

  /** The relay server and mDNS, loaded only when configured. */
  private async optionalServices(): Promise<Record<string, (components: any) => unknown>> {
    const services: Record<string, (components: any) => unknown> = {}
    const serve = this.opts.relay?.serve
    if (serve) {
      const { circuitRelayServer } = await import('@libp2p/circuit-relay-v2')
      const limited = serve.durationLimitMs > 0 || serve.dataLimitBytes > 0
      services.relay = circuitRelayServer({
        reservations: {
          maxReservations: serve.maxReservations,
          reservationTtl: serve.reservationTtlMs,
          applyDefaultLimit: limited,
          ...(limited ? { defaultDurationLimit: serve.durationLimitMs || 2 ** 31 - 1, defaultDataLimit: BigInt(serve.dataLimitBytes || Number.MAX_SAFE_INTEGER) } : {}),
        },
      })
    }
    if (this.opts.mdns) {
      const { mdns } = await import('@libp2p/mdns')
      const intervalMs = typeof this.opts.mdns === 'object' ? this.opts.mdns.intervalMs : undefined
      services.mdns = mdns({ ...(intervalMs ? { interval: intervalMs } : {}) })
    }
    return services
  }

  /** A peer found by mDNS: dial it unless it is connected already. */
  private discovered(peer: { id: PeerId; multiaddrs: Multiaddr[] }): void {
    if (!this.node || peer.id.equals(this.node.peerId) || this.node.getConnections(peer.id).length > 0) return
    void this.node.dial(peer.multiaddrs.length ? peer.multiaddrs : peer.id, { signal: this.dialSignal() }).catch(() => undefined)
  }

  /** Whether others can dial this node (see reachability.ts). */
  reachability(): Reachability {
    if (!this.node) return 'unknown'
    return reachabilityOf(this.node, this.listens)
  }

  /** Reachability, addresses, relay reservations and service, transports, bans. */
  status(): NetworkStatus {
    const node = this.node
    const relayService = node?.services.relay
    return {
      reachability: this.reachability(),
      addresses: node ? node.getMultiaddrs().map((a) => a.toString()) : [],
      relay: { serving: relayService !== undefined, clients: relayService?.reservations.size ?? 0, reservations: this.relayClient?.reservations() ?? [] },
      transports: node ? internals(node).transportManager.getTransports().map((t) => transportName(t[Symbol.toStringTag])) : [],
      mdns: node?.services.mdns !== undefined,
      banned: this.guard.banned(),
    }
  }

  /** Dials the bootstrap and known peers now, and again every `redialMs` while no peer is connected. */
  startDialling(): void {
    this.dialKnown()
    this.redial = setInterval(() => {
      if (this.node && this.node.getPeers().length === 0) this.dialKnown()
    }, this.opts.redialMs)
    this.redial.unref()
  }

  /** Stops within about `stopTimeoutMs`: connections that do not close in time are aborted. */
  async stop(): Promise<void> {
    const node = this.node
    if (!node) return
    this.node = undefined
    if (this.redial) clearInterval(this.redial)
    this.relayClient?.stop()
    this.relayClient = undefined
    this.offBanned?.()
    this.lifetimeCtrl.abort(new MeroError('Unavailable', 'the network is stopping'))
    const stopping = Promise.resolve(node.stop())
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([stopping.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.opts.stopTimeoutMs)))])
    clearTimeout(timer)
    if (late) {
      for (const c of node.getConnections()) c.abort(new Error('the node is stopping'))
      await Promise.race([stopping, new Promise((r) => setTimeout(r, 1_000).unref())])
    }
  }

  listenAddresses(): string[] {
    if (!this.node) return []
    const suffix = `/p2p/${this.peerId}`
    return this.node.getMultiaddrs().map((a) => a.toString().replace(suffix, ''))
  }

  /** Dials a multiaddr; resolves with the remote peer id. */
  async connect(address: string, signal?: AbortSignal): Promise<string> {
    const ma = parseMultiaddr(address, 'address')
    try {
      const conn = await this.libp2p.dial(ma, { signal: this.dialSignal(signal) })
      return conn.remotePeer.toString()
    } catch (e) {
      throw new MeroError('PeerUnreachable', `cannot connect to ${address}: ${(e as Error).message}`)
    }
  }

  /**
   * Dials a peer through any of the given addresses (as found in an invitation token), trying
   * them in order; an address without `/p2p/` gets the peer id appended when it is known.
   * Resolves with the peer id; an already connected peer is not redialled.
   */
  async dialPeer(target: { peerId?: string; addresses: string[] }, signal?: AbortSignal): Promise<string> {
    if (target.peerId) {
      const id = parsePeerId(target.peerId)
      if (this.libp2p.getConnections(id).length > 0) return target.peerId
    }
    const addresses = target.addresses.map((a) => {
      const full = target.peerId && !a.includes('/p2p/') ? `${a}/p2p/${target.peerId}` : a
      parseMultiaddr(full, 'address')
      return full
    })
    if (!addresses.length) throw new MeroError('PeerUnreachable', `no address to dial${target.peerId ? ` for ${target.peerId}` : ''}`)
    const failures: string[] = []
    for (const a of addresses) {
      try {
        const peerId = await this.connect(a, signal)
        if (target.peerId && peerId !== target.peerId) throw new MeroError('PeerUnreachable', `${a} answered as ${peerId}`)
        return peerId
      } catch (e) {
        failures.push((e as Error).message)
        if (signal?.aborted || this.lifetime.aborted) break
      }
    }
    throw new MeroError('PeerUnreachable', `cannot reach ${target.peerId ?? 'the peer'}: ${failures.join('; ')}`)
  }

  /** Connected peers: how each connection is made (direct or relayed, transport), and the measured round trip. */
  peers(): PeerInfo[] {
    const byPeer = new Map<string, PeerInfo>()
    for (const c of this.node?.getConnections() ?? []) {
      const id = c.remotePeer.toString()
      const info = byPeer.get(id) ?? { peerId: id, addresses: [], via: 'relayed', connections: [] }
      const conn = connectionInfo(c)
      info.addresses.push(conn.address)
      info.connections.push(conn)
      if (conn.via === 'direct') info.via = 'direct'
      if (c.rtt !== undefined) info.latencyMs = Math.min(info.latencyMs ?? Infinity, c.rtt)
      byPeer.set(id, info)
    }
    return [...byPeer.values()]
  }

  connectedPeers(): string[] {
    return this.node ? this.node.getPeers().map((p) => p.toString()) : []
  }

  /** A signal for a dial: aborted after the dial timeout, when the host stops, or with `signal`. */
  dialSignal(signal?: AbortSignal): AbortSignal {
    const signals = [AbortSignal.timeout(this.opts.dialTimeoutMs), this.lifetime]
    if (signal) signals.push(signal)
    return AbortSignal.any(signals)
  }

  /** Dials the bootstrap peers and the known peers, in the background. */
  private dialKnown(): void {
    for (const address of this.opts.bootstrap) void this.connect(address).catch(() => undefined)
    for (const p of this.opts.knownPeers?.() ?? []) {
      if (p.peerId === this.peerId) continue
      void this.dialPeer(p).catch(() => undefined)
    }
  }
}

/** How a connection is made: direct or through a relay, and over which transport. */
export function connectionInfo(c: Connection): ConnectionInfo {
  const address = c.remoteAddr.toString()
  const relayed = isRelayed(c.remoteAddr)
  const parts = c.remoteAddr.getComponents()
  const transport = parts.some((p) => p.name === 'quic-v1') ? 'quic' : parts.some((p) => p.name === 'tcp') ? 'tcp' : (parts.find((p) => p.name !== 'ip4' && p.name !== 'ip6' && p.name !== 'dns' && p.name !== 'dns4' && p.name !== 'dns6')?.name ?? 'unknown')
  const info: ConnectionInfo = { address, direction: c.direction, via: relayed ? 'relayed' : 'direct', transport }
  if (relayed) {
    const circuit = parts.findIndex((p) => p.name === 'p2p-circuit')
    const relay = parts.slice(0, circuit).findLast((p) => p.name === 'p2p')?.value
    if (relay) info.relay = relay
    // a relayed connection we received has no address of the relay in it: its remote address is /p2p-circuit/p2p/<peer>
    if (circuit === 0) info.transport = 'relay'
  }
  if (c.limits) info.limited = true
  return info
}

/** A transport's name from its toStringTag (`@libp2p/tcp` → tcp). */
function transportName(tag: string | undefined): string {
  if (!tag) return 'unknown'
  if (tag.includes('circuit-relay')) return 'circuit-relay'
  if (tag.includes('quic')) return 'quic'
  return tag.replace(/^@[^/]+\//, '')
}

function parseMultiaddr(address: string, what: string): Multiaddr {
  try {
    return multiaddr(address)
  } catch (e) {
    throw new MeroError('InvalidInput', `invalid ${what} ${JSON.stringify(address)}: ${(e as Error).message}`)
  }
}

export function parsePeerId(peerId: string): PeerId {
  try {
    return peerIdFromString(peerId)
  } catch {
    throw new MeroError('InvalidInput', `invalid peer id ${JSON.stringify(peerId)}`)
  }
}
