import './shim.js'
import { setMaxListeners } from 'node:events'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
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
import type { PeerId } from '@libp2p/interface'
import { keyPairFromSeed } from '../crypto/ed25519.js'
import type { Emitter } from '../primitives/emitter.js'
import { MeroError } from '../primitives/errors.js'
import { peerIdFromPublicKey } from '../primitives/ids.js'
import { gossipsubOptions, type GossipTuning } from './gossip-options.js'
import { noiseCrypto } from './noise-crypto.js'

/**
 * The libp2p 3 host (DESIGN §9): tcp, noise, yamux, identify, ping, gossipsub and kad-dht, keyed by
 * the node's Ed25519 identity (so the libp2p peer id is the node's), no mDNS. It starts and stops
 * the host, dials (the bootstrap and known peers at start, and again while alone), and reports
 * peers connecting, going and identifying themselves. Topics, streams and content routing are
 * pubsub.ts, streams.ts and routing.ts.
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
}

export interface PeerInfo {
  peerId: string
  addresses: string[]
  /** Round-trip time measured by libp2p's connection monitor, when known. */
  latencyMs?: number
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
  /** An inbound stream was refused: the protocol's concurrency limit was reached. */
  'stream:refused': { peerId: string; protocol: string }
}

export type Services = { pubsub: GossipSub; ping: { ping(peer: PeerId | Multiaddr, options?: { signal?: AbortSignal }): Promise<number> } }

export class Host {
  private node?: Libp2p<Services>
  private lifetimeCtrl = new AbortController()
  private redial?: NodeJS.Timeout
  readonly peerId: string
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

  /** Creates and starts the libp2p node; resolves with it, or undefined when it was already running. */
  async start(): Promise<Libp2p<Services> | undefined> {
    if (this.node) return undefined
    const privateKey = await generateKeyPairFromSeed('Ed25519', this.opts.seed)
    const gossip = gossipsubOptions({ maxInboundRpcBytes: Math.max(4 * 1024 * 1024, 2 * this.opts.maxMessageBytes), ...this.opts.gossip })
    const node = await createLibp2p({
      privateKey,
      addresses: { listen: this.opts.listen },
      transports: [tcp()],
      connectionEncrypters: [noise({ crypto: noiseCrypto })],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        // libp2p's connection monitor pings every peer on the same protocol, and aborts the
        // connection when its ping fails: with one outbound ping stream per peer (the default),
        // a user's ping at that moment failed, or made the monitor's fail and cut the connection
        ping: ping({ maxOutboundStreams: 2 }),
        pubsub: gossipsub(gossip),
        dht: kadDHT({
          protocol: this.opts.dht?.protocol ?? '/mero/kad/1.0.0',
          clientMode: this.opts.dht?.clientMode ?? false,
          // keep loopback and private addresses: mero runs on LANs and in tests on 127.0.0.1
          peerInfoMapper: passthroughMapper,
        }),
      },
    })
    this.node = node as unknown as Libp2p<Services>
    this.lifetimeCtrl = new AbortController()
    // one listener per request in flight
    setMaxListeners(Infinity, this.lifetimeCtrl.signal)
    node.addEventListener('peer:connect', (evt) => this.events.emit('peer:connected', { peerId: evt.detail.toString() }))
    node.addEventListener('peer:disconnect', (evt) => this.events.emit('peer:disconnected', { peerId: evt.detail.toString() }))
    node.addEventListener('peer:identify', (evt) => {
      const { peerId, listenAddrs } = evt.detail
      this.events.emit('peer:identified', { peerId: peerId.toString(), listenAddresses: listenAddrs.map((a) => a.toString()) })
    })
    return this.node
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

  /** Connected peers, with the addresses of their connections and the measured round trip. */
  peers(): PeerInfo[] {
    const byPeer = new Map<string, PeerInfo>()
    for (const c of this.node?.getConnections() ?? []) {
      const id = c.remotePeer.toString()
      const info = byPeer.get(id) ?? { peerId: id, addresses: [] }
      info.addresses.push(c.remoteAddr.toString())
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
