import type { FrameChannel, PeerNetwork, TopicMessageEvent } from '../../src/core/network/transport.js'
import { framePair } from './frame-pair.js'

/**
 * An in-memory stand-in for the p2p layer, for in-process tests of replication logic: topics
 * deliver asynchronously to every other online subscriber; streams are frame pairs. Multi-daemon
 * end-to-end tests use the real libp2p node instead.
 */
export class MemoryHub {
  readonly nodes = new Map<string, MemoryPeer>()

  peer(peerId: string): MemoryPeer {
    const p = new MemoryPeer(this, peerId)
    this.nodes.set(peerId, p)
    return p
  }
}

export class MemoryPeer implements PeerNetwork {
  online = true
  readonly topics = new Set<string>()
  private readonly listeners = new Set<(m: TopicMessageEvent) => void>()
  private readonly handlers = new Map<string, (c: FrameChannel, peerId: string) => void>()

  constructor(
    private readonly hub: MemoryHub,
    readonly peerId: string,
  ) {}

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (!this.online) return
    for (const p of this.hub.nodes.values()) {
      if (p === this || !p.online || !p.topics.has(topic)) continue
      setImmediate(() => p.deliver({ topic, from: this.peerId, data }))
    }
  }

  /** Delivers a raw message as if a peer had published it (for bad-input tests). */
  deliver(m: TopicMessageEvent): void {
    if (this.online) for (const l of this.listeners) l(m)
  }

  subscribe(topic: string): void {
    this.topics.add(topic)
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic)
  }

  onMessage(handler: (m: TopicMessageEvent) => void): () => void {
    this.listeners.add(handler)
    return () => this.listeners.delete(handler)
  }

  handle(protocol: string, handler: (c: FrameChannel, peerId: string) => void): void {
    this.handlers.set(protocol, handler)
  }

  async open(peerId: string, protocol: string): Promise<FrameChannel> {
    const remote = this.hub.nodes.get(peerId)
    if (!this.online || !remote?.online) throw new Error(`peer ${peerId} is unreachable`)
    const handler = remote.handlers.get(protocol)
    if (!handler) throw new Error(`peer ${peerId} does not speak ${protocol}`)
    const [mine, theirs] = framePair()
    handler(theirs, this.peerId)
    return mine
  }

  connectedPeers(): string[] {
    return this.online ? [...this.hub.nodes.values()].filter((p) => p !== this && p.online).map((p) => p.peerId) : []
  }

  topicPeers(topic: string): string[] {
    return this.connectedPeers().filter((id) => this.hub.nodes.get(id)!.topics.has(topic))
  }
}
