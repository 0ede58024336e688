import './shim.js'
import { Emitter } from '../primitives/emitter.js'
import { MAX_FRAME } from '../primitives/limits.js'
import type { FramedStream } from './frames.js'
import { Host, type HostOptions, type NetworkEvents, type NetworkStatus, type PeerInfo } from './host.js'
import { NetworkMetrics } from './metrics.js'
import type { PeerBook } from './peer-book.js'
import { PubSub, type MessageValidator } from './pubsub.js'
import { Routing } from './routing.js'
import { Streams, type ChannelHandler, type HandleOptions, type OpenOptions } from './streams.js'
import type { NodeNetwork, TopicMessageEvent } from './transport.js'

/**
 * The node's p2p network (DESIGN §9), the NodeNetwork the node core and the replicators drive
 * (network/transport.ts), made of four parts over one libp2p host:
 *
 * - host.ts: libp2p itself (tcp, noise, yamux, identify, ping, gossipsub, kad-dht), start and
 *   stop, dialling, peers;
 * - pubsub.ts: topics, publishing, the validation hook;
 * - streams.ts: stream protocols as conversations of frames, bounded per protocol;
 * - routing.ts: content routing in the DHT.
 *
 * With a peer book, the peers it meets are remembered across restarts and redialled while the
 * node is alone. It offers what the core needs and nothing of the core itself.
 */
export interface NetworkOptions extends Omit<HostOptions, 'maxMessageBytes'> {
  /** The largest frame a stream protocol may send or receive [8 MiB]. */
  maxFrameBytes?: number
  /** Gossip messages larger than this are refused (publish) or rejected and counted (receive) [1 MiB]. */
  maxMessageBytes?: number
  /** Concurrent inbound streams per protocol across all peers (libp2p also bounds them per connection). */
  maxInboundStreams?: number
  metrics?: NetworkMetrics
  /** Validates every received gossip message (with the per-topic-family validators). */
  validator?: MessageValidator
  /** Remembers peers across restarts; they are redialled at start and while no peer is connected. */
  peerBook?: PeerBook
}

export class Libp2pNetwork implements NodeNetwork {
  readonly metrics: NetworkMetrics
  readonly host: Host
  readonly pubsub: PubSub
  readonly streams: Streams
  readonly routing: Routing
  private readonly events = new Emitter<NetworkEvents>()
  private readonly peerBook?: PeerBook

  constructor(options: NetworkOptions) {
    const { peerBook } = options
    this.peerBook = peerBook
    this.metrics = options.metrics ?? new NetworkMetrics()
    // well above the replicators' own message limit (256 KiB), so that an oversized message
    // reaches them and is counted there by its reason
    const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024
    const knownPeers = options.knownPeers ?? (peerBook ? () => peerBook.list() : undefined)
    this.host = new Host({ ...options, maxMessageBytes, knownPeers }, this.events)
    this.pubsub = new PubSub(this.host, this.events, this.metrics, { maxMessageBytes, validator: options.validator })
    this.streams = new Streams(this.host, this.events, this.metrics, { maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME, maxInboundStreams: options.maxInboundStreams ?? 64 })
    this.routing = new Routing(this.host)
    if (peerBook) this.events.on('peer:identified', (e) => peerBook.remember(e.peerId, e.listenAddresses))
  }

  /** Known from the seed, before start. */
  get peerId(): string {
    return this.host.peerId
  }

  get started(): boolean {
    return this.host.started
  }

  async start(): Promise<void> {
    const node = await this.host.start()
    if (!node) return
    this.pubsub.attach(node)
    await this.streams.attach(node)
    this.host.startDialling()
  }

  /** Stops within about `stopTimeoutMs`: connections that do not close in time are aborted. */
  stop(): Promise<void> {
    return this.host.stop()
  }

  on<K extends keyof NetworkEvents>(event: K, listener: (e: NetworkEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  // ---- peers

  listenAddresses(): string[] {
    return this.host.listenAddresses()
  }

  /** Dials a multiaddr (ending in /p2p/<peer id>); resolves with the peer id. */
  connect(address: string, signal?: AbortSignal): Promise<string> {
    return this.host.connect(address, signal)
  }

  /** Dials a peer through any of its addresses (see Host.dialPeer). */
  dialPeer(target: { peerId?: string; addresses: string[] }, signal?: AbortSignal): Promise<string> {
    return this.host.dialPeer(target, signal)
  }

  peers(): PeerInfo[] {
    return this.host.peers()
  }

  connectedPeers(): string[] {
    return this.host.connectedPeers()
  }

  onRefused(handler: (e: { peerId: string; protocol: string }) => void): () => void {
    return this.events.on('stream:refused', handler)
  }

  onPeer(handler: (e: { peerId: string; connected: boolean }) => void): () => void {
    const offs = [this.events.on('peer:connected', (e) => handler({ peerId: e.peerId, connected: true })), this.events.on('peer:disconnected', (e) => handler({ peerId: e.peerId, connected: false }))]
    return () => offs.forEach((off) => off())
  }

  // ---- topics

  /** Publishes to a topic; resolves with how many peers it was sent to (0 when alone). */
  publish(topic: string, data: Uint8Array): Promise<number> {
    return this.pubsub.publish(topic, data)
  }

  subscribe(topic: string): void {
    this.pubsub.subscribe(topic)
  }

  unsubscribe(topic: string): void {
    this.pubsub.unsubscribe(topic)
  }

  subscriptions(): string[] {
    return this.pubsub.subscriptions()
  }

  topicPeers(topic: string): string[] {
    return this.pubsub.topicPeers(topic)
  }

  onMessage(handler: (m: TopicMessageEvent) => void): () => void {
    return this.events.on('message', (m) => handler({ topic: m.topic, from: m.from, data: m.data }))
  }

  setTopicValidator(topicPrefix: string, validator: (m: TopicMessageEvent) => 'accept' | 'reject' | 'ignore'): () => void {
    return this.pubsub.addValidator(topicPrefix, validator)
  }

  penalize(peerId: string, reason: 'malformed-frame'): void {
    this.host.guard.strike(peerId, reason)
  }

  /** Reachability, addresses, relays, transports and bans (see Host.status). */
  status(): NetworkStatus {
    return this.host.status()
  }

  setValidator(validator: MessageValidator | undefined): void {
    this.pubsub.setValidator(validator)
  }

  // ---- streams

  /** Serves a stream protocol: one frame channel per inbound stream, owned by the handler. */
  handle(protocol: string, handler: ChannelHandler, options?: HandleOptions): Promise<void> {
    const registered = this.streams.handle(protocol, handler, options)
    // a caller that does not wait for the registration must not meet an unhandled rejection
    registered.catch(() => undefined)
    return registered
  }

  /** Opens a stream to a peer, dialling `addresses` first when it is not connected; a peer dialled so is remembered. */
  async open(peerId: string, protocol: string, addresses: string[] = [], options: Omit<OpenOptions, 'addresses'> = {}): Promise<FramedStream> {
    const wasConnected = this.host.connectedPeers().includes(peerId)
    const channel = await this.streams.open(peerId, protocol, { ...options, addresses })
    if (!wasConnected && addresses.length) this.peerBook?.remember(peerId, addresses.map((a) => a.replace(`/p2p/${peerId}`, '')))
    return channel
  }
}
