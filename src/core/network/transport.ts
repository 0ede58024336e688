import type { NetworkStatus } from './host.js'

/**
 * What the layers above need from the p2p layer (Libp2pNetwork implements it; tests may use an
 * in-memory hub). Messages are opaque bytes; topics are strings; streams are conversations of
 * frames. Nothing here knows a mero protocol.
 */

/** A conversation of frames on one stream (what the sync and blob protocols speak). */
export interface FrameChannel {
  send(frame: Uint8Array): Promise<void>
  /** Rejects when the stream ends, a frame is too large, or the timeout passes. */
  receive(timeoutMs: number): Promise<Uint8Array>
  close(): void
}

/** How long a protocol waits for the peer's next frame, unless it says otherwise. */
export const FRAME_TIMEOUT_MS = 10_000

export interface TopicMessageEvent {
  topic: string
  /** The peer that relayed or published the message. */
  from: string
  data: Uint8Array
}

export interface PeerNetwork {
  readonly peerId: string
  /** Resolves once sent (with how many peers it went to, where the network knows). */
  publish(topic: string, data: Uint8Array): Promise<number | void>
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  onMessage(handler: (m: TopicMessageEvent) => void): () => void
  /** Serves a stream protocol: one FrameChannel per inbound stream (registered at once, or when the network starts). */
  handle(protocol: string, handler: (channel: FrameChannel, peerId: string) => void): void | Promise<void>
  /** Opens a stream to a peer (dialling its addresses first when given). */
  open(peerId: string, protocol: string, addresses?: string[]): Promise<FrameChannel>
  /** Peers currently connected. */
  connectedPeers(): string[]
  /** Peers subscribed to a topic, as far as this node knows. */
  topicPeers(topic: string): string[]
  /**
   * Validates the messages of the topics starting with `topicPrefix` before they are delivered
   * or forwarded to other peers ('reject' also tells the router the sender misbehaved). Optional:
   * without it, every message is delivered and the replicators check it on delivery. Returns the
   * removal.
   */
  setTopicValidator?(topicPrefix: string, validator: (m: TopicMessageEvent) => 'accept' | 'reject' | 'ignore'): () => void
  /**
   * A peer sent something invalid on a stream (a malformed frame): a strike against it; a peer
   * that keeps at it is disconnected for a while. Optional: networks without limits per peer.
   */
  penalize?(peerId: string, reason: 'malformed-frame'): void
}

/** Content routing (kad-dht): which peers hold a 32-byte content id, such as a blob id. */
export interface ContentRouting {
  /** Announces that this node holds the content. */
  provide(contentId: Uint8Array): Promise<void>
  /** Stops announcing it (this node no longer holds it): its record here goes and is not published again. */
  withdraw(contentId: Uint8Array): Promise<void>
  /** Peers that announced it (this node excluded), with their addresses; empty when none in time. */
  findProviders(contentId: Uint8Array, options?: { timeoutMs?: number; limit?: number }): Promise<{ peerId: string; addresses: string[] }[]>
}

/** The p2p node as the node core drives it: PeerNetwork plus lifecycle and peer management. */
export interface NodeNetwork extends PeerNetwork {
  /** The DHT, when the network has one. */
  readonly routing?: ContentRouting
  start(): Promise<void>
  stop(): Promise<void>
  listenAddresses(): string[]
  /** Dials a multiaddr (ending in /p2p/<peer id>); resolves with the peer id. */
  connect(address: string): Promise<string>
  peers(): { peerId: string; addresses: string[] }[]
  /** Reachability, relays, transports and bans, where the network knows them. */
  status?(): NetworkStatus
  onPeer(handler: (e: { peerId: string; connected: boolean }) => void): () => void
  /** Inbound streams refused at a protocol's concurrency limit (optional). */
  onRefused?(handler: (e: { peerId: string; protocol: string }) => void): () => void
}
