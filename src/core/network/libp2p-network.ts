import './shim.js'
import { createHash } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Stream } from '@libp2p/interface'
import type { FrameChannel } from '../sync/group-sync.js'
import type { NodeNetwork, TopicMessageEvent } from '../sync/transport.js'
import type { PeerBook } from './peer-book.js'
import { MAX_FRAME, MAX_TOPIC_MESSAGE } from '../sync/wire.js'

/**
 * The node's libp2p 3 host (DESIGN §9): tcp, noise, yamux, identify, ping, gossipsub and
 * kad-dht, keyed by the node's identity (so the libp2p peer id is the node's), mDNS off.
 *
 * Gossip messages are our own signed ops and heartbeats, so gossipsub's own signing is off
 * (StrictNoSign) and a message's id is the SHA-256 of its data: the same op published by two
 * nodes is one message.
 */
export interface Libp2pNetworkOptions {
  /** The node's 32-byte Ed25519 seed. */
  seed: Uint8Array
  listen: string[]
  bootstrap?: string[]
  dialTimeoutMs?: number
  /** Remembers peers across restarts; they are redialled at start and while no peer is connected. */
  peerBook?: PeerBook
  redialMs?: number
}

type Services = { pubsub: ReturnType<ReturnType<typeof gossipsub>> }

export class Libp2pNetwork implements NodeNetwork {
  private node?: Libp2p<Services>
  private readonly listeners = new Set<(m: TopicMessageEvent) => void>()
  private readonly peerListeners = new Set<(e: { peerId: string; connected: boolean }) => void>()
  private readonly pendingHandlers: [string, (c: FrameChannel, peerId: string) => void][] = []
  private _peerId = ''
  private redial?: NodeJS.Timeout

  constructor(private readonly opts: Libp2pNetworkOptions) {}

  get peerId(): string {
    return this._peerId
  }

  async start(): Promise<void> {
    const privateKey = await generateKeyPairFromSeed('Ed25519', this.opts.seed)
    const node = await createLibp2p({
      privateKey,
      addresses: { listen: this.opts.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictNoSign,
          msgIdFn: (msg) => createHash('sha256').update(msg.data).digest(),
          allowPublishToZeroTopicPeers: true,
          emitSelf: false,
          floodPublish: true,
          // above our own message limit, so that oversized messages reach the core and are
          // counted; larger RPCs are refused by gossipsub itself
          maxInboundDataLength: 4 * MAX_TOPIC_MESSAGE,
        }),
        dht: kadDHT({ protocol: '/mero/kad/1.0.0', clientMode: false, peerInfoMapper: passthroughMapper }),
      },
    })
    this.node = node as unknown as Libp2p<Services>
    this._peerId = node.peerId.toString()
    this.node.services.pubsub.addEventListener('gossipsub:message', (evt) => {
      const { propagationSource, msg } = evt.detail
      const m = { topic: msg.topic, from: propagationSource.toString(), data: msg.data }
      for (const l of this.listeners) l(m)
    })
    node.addEventListener('peer:connect', (evt) => this.emitPeer(evt.detail.toString(), true))
    node.addEventListener('peer:disconnect', (evt) => this.emitPeer(evt.detail.toString(), false))
    node.addEventListener('peer:identify', (evt) => {
      const { peerId, listenAddrs } = evt.detail
      this.opts.peerBook?.remember(peerId.toString(), listenAddrs.map((a) => a.toString()))
    })
    for (const [protocol, handler] of this.pendingHandlers.splice(0)) await this.register(protocol, handler)
    this.dialKnown()
    this.redial = setInterval(() => {
      if (this.connectedPeers().length === 0) this.dialKnown()
    }, this.opts.redialMs ?? 5_000)
    this.redial.unref()
  }

  /** Dials the bootstrap peers and every peer of the peer book, in the background. */
  private dialKnown(): void {
    for (const addr of this.opts.bootstrap ?? []) void this.connect(addr).catch(() => undefined)
    for (const p of this.opts.peerBook?.list() ?? []) {
      if (p.peerId === this._peerId) continue
      void this.dialAny(p.peerId, p.addresses).catch(() => undefined)
    }
  }

  private async dialAny(peerId: string, addresses: string[]): Promise<void> {
    let lastError: unknown = new Error(`no address for ${peerId}`)
    for (const a of addresses) {
      try {
        await this.host.dial(multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peerId}`), { signal: AbortSignal.timeout(this.opts.dialTimeoutMs ?? 5_000) })
        return
      } catch (e) {
        lastError = e
      }
    }
    throw lastError
  }

  async stop(): Promise<void> {
    if (this.redial) clearInterval(this.redial)
    const node = this.node
    this.node = undefined
    await node?.stop()
  }

  private emitPeer(peerId: string, connected: boolean): void {
    for (const l of this.peerListeners) l({ peerId, connected })
  }

  private get host(): Libp2p<Services> {
    if (!this.node) throw new Error('the p2p network is not started')
    return this.node
  }

  listenAddresses(): string[] {
    if (!this.node) return []
    const suffix = `/p2p/${this._peerId}`
    return this.node.getMultiaddrs().map((a) => a.toString().replace(suffix, ''))
  }

  async connect(address: string): Promise<string> {
    const conn = await this.host.dial(multiaddr(address), { signal: AbortSignal.timeout(this.opts.dialTimeoutMs ?? 5_000) })
    return conn.remotePeer.toString()
  }

  peers(): { peerId: string; addresses: string[] }[] {
    const byPeer = new Map<string, string[]>()
    for (const c of this.node?.getConnections() ?? []) {
      const id = c.remotePeer.toString()
      byPeer.set(id, [...(byPeer.get(id) ?? []), c.remoteAddr.toString()])
    }
    return [...byPeer].map(([peerId, addresses]) => ({ peerId, addresses }))
  }

  connectedPeers(): string[] {
    return this.node ? this.node.getPeers().map((p) => p.toString()) : []
  }

  onPeer(handler: (e: { peerId: string; connected: boolean }) => void): () => void {
    this.peerListeners.add(handler)
    return () => this.peerListeners.delete(handler)
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    await this.host.services.pubsub.publish(topic, data)
  }

  subscribe(topic: string): void {
    this.host.services.pubsub.subscribe(topic)
  }

  unsubscribe(topic: string): void {
    this.node?.services.pubsub.unsubscribe(topic)
  }

  topicPeers(topic: string): string[] {
    return this.node ? this.node.services.pubsub.getSubscribers(topic).map((p) => p.toString()) : []
  }

  onMessage(handler: (m: TopicMessageEvent) => void): () => void {
    this.listeners.add(handler)
    return () => this.listeners.delete(handler)
  }

  handle(protocol: string, handler: (c: FrameChannel, peerId: string) => void): void {
    if (!this.node) this.pendingHandlers.push([protocol, handler])
    else void this.register(protocol, handler)
  }

  private async register(protocol: string, handler: (c: FrameChannel, peerId: string) => void): Promise<void> {
    await this.host.handle(protocol, (stream, connection) => handler(frameChannel(stream), connection.remotePeer.toString()), { maxInboundStreams: 64, force: true })
  }

  async open(peerId: string, protocol: string, addresses: string[] = []): Promise<FrameChannel> {
    const signal = AbortSignal.timeout(this.opts.dialTimeoutMs ?? 5_000)
    const target = peerIdFromString(peerId)
    if (!this.host.getPeers().some((p) => p.equals(target)) && addresses.length) {
      await this.dialAny(peerId, addresses)
      this.opts.peerBook?.remember(peerId, addresses.map((a) => a.replace(`/p2p/${peerId}`, '')))
    }
    const stream = await this.host.dialProtocol(target, protocol, { signal })
    return frameChannel(stream)
  }
}

/** Length-prefixed frames over a libp2p stream. */
function frameChannel(stream: Stream): FrameChannel {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  return {
    send: (frame) => lp.write(frame),
    receive: async (timeoutMs) => (await lp.read({ signal: AbortSignal.timeout(timeoutMs) })).subarray(),
    close: () => {
      stream.close().catch((e: Error) => stream.abort(e))
    },
  }
}
