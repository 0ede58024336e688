import './shim.js'
import type { FrameChannel } from './frames.js'
import type { ContentRouting, NodeNetwork, TopicMessageEvent } from '../sync/transport.js'
import type { PeerBook } from './peer-book.js'
import { MAX_FRAME, MAX_TOPIC_MESSAGE } from '../sync/wire.js'
import { NetworkMetrics } from './metrics.js'
import { NetworkNode } from './network-node.js'

/**
 * The NodeNetwork that the node core and the replicators drive (sync/transport.ts), over a
 * NetworkNode: it adds the peer book (peers remembered across restarts and redialled while the
 * node is alone) and keeps the sync layer's shapes (FrameChannel, onMessage, onPeer).
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
  metrics?: NetworkMetrics
}

export class Libp2pNetwork implements NodeNetwork {
  readonly node: NetworkNode

  constructor(private readonly opts: Libp2pNetworkOptions) {
    this.node = new NetworkNode({
      seed: opts.seed,
      listen: opts.listen,
      bootstrap: opts.bootstrap,
      dialTimeoutMs: opts.dialTimeoutMs,
      redialMs: opts.redialMs,
      maxFrameBytes: MAX_FRAME,
      // above the sync layer's own message limit, so that oversized messages reach the
      // replicator and are counted there by its reasons
      maxMessageBytes: 4 * MAX_TOPIC_MESSAGE,
      metrics: opts.metrics,
      knownPeers: opts.peerBook ? () => opts.peerBook!.list() : undefined,
    })
    if (opts.peerBook) this.node.on('peer:identified', (e) => opts.peerBook!.remember(e.peerId, e.listenAddresses))
  }

  get peerId(): string {
    return this.node.peerId
  }

  /** kad-dht content routing (blob providers). */
  get routing(): ContentRouting {
    return { provide: (id) => this.node.provide(id), withdraw: (id) => this.node.withdraw(id), findProviders: (id, options) => this.node.findProviders(id, options) }
  }

  /** The network's counters (gossip in/out, drops, stream requests). */
  get metrics(): NetworkMetrics {
    return this.node.metrics
  }

  start(): Promise<void> {
    return this.node.start()
  }

  stop(): Promise<void> {
    return this.node.stop()
  }

  listenAddresses(): string[] {
    return this.node.listenAddresses()
  }

  connect(address: string): Promise<string> {
    return this.node.connect(address)
  }

  peers(): { peerId: string; addresses: string[]; latencyMs?: number }[] {
    return this.node.peers()
  }

  connectedPeers(): string[] {
    return this.node.connectedPeers()
  }

  onRefused(handler: (e: { peerId: string; protocol: string }) => void): () => void {
    return this.node.on('stream:refused', handler)
  }

  onPeer(handler: (e: { peerId: string; connected: boolean }) => void): () => void {
    const offs = [this.node.on('peer:connected', (e) => handler({ peerId: e.peerId, connected: true })), this.node.on('peer:disconnected', (e) => handler({ peerId: e.peerId, connected: false }))]
    return () => offs.forEach((off) => off())
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    await this.node.publish(topic, data)
  }

  subscribe(topic: string): void {
    this.node.subscribe(topic)
  }

  unsubscribe(topic: string): void {
    this.node.unsubscribe(topic)
  }

  topicPeers(topic: string): string[] {
    return this.node.topicPeers(topic)
  }

  onMessage(handler: (m: TopicMessageEvent) => void): () => void {
    return this.node.on('message', (m) => handler({ topic: m.topic, from: m.from, data: m.data }))
  }

  setTopicValidator(topicPrefix: string, validator: (m: TopicMessageEvent) => 'accept' | 'reject' | 'ignore'): () => void {
    return this.node.addValidator(topicPrefix, validator)
  }

  handle(protocol: string, handler: (c: FrameChannel, peerId: string) => void): void {
    void this.node.handleChannel(protocol, handler).catch(() => undefined)
  }

  async open(peerId: string, protocol: string, addresses: string[] = []): Promise<FrameChannel> {
    const wasConnected = this.node.connectedPeers().includes(peerId)
    const channel = await this.node.openChannel(peerId, protocol, { addresses })
    if (!wasConnected && addresses.length) this.opts.peerBook?.remember(peerId, addresses.map((a) => a.replace(`/p2p/${peerId}`, '')))
    return channel
  }
}
