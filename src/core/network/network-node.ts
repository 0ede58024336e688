import './shim.js'
import { setMaxListeners } from 'node:events'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub, TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { keyPairFromSeed } from '../crypto/ed25519.js'
import { MeroError, isMeroError } from '../primitives/errors.js'
import { peerIdFromPublicKey } from '../primitives/ids.js'
import { DEFAULT_MAX_FRAME_BYTES, FramedStream, readMessage, writeError, writeMessage } from './frames.js'
import { gossipsubOptions, type GossipTuning } from './gossip-options.js'
import { NetworkMetrics } from './metrics.js'
import { noiseCrypto } from './noise-crypto.js'

/**
 * The node's libp2p 3 host (DESIGN §9): tcp, noise, yamux, identify, ping, gossipsub and kad-dht,
 * keyed by the node's Ed25519 identity (so the libp2p peer id is the node's), no mDNS.
 *
 * It offers what the core needs and nothing of the core itself: topics (publish, subscribe, a
 * validation hook), request/response over streams (length-prefixed frames, bounded size,
 * timeouts, bounded inbound concurrency), conversational frame channels for the sync protocols,
 * dialling, peers, and counters.
 */
export interface NetworkNodeOptions {
  /** The node's 32-byte Ed25519 seed (the private key of `identity.key`). */
  seed: Uint8Array
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/0`. */
  listen: string[]
  /** Multiaddrs (with `/p2p/<peer id>`) dialled at start, and again while no peer is connected. */
  bootstrap?: string[]
  dialTimeoutMs?: number
  /** Default time limit of one request (dial, write, the peer's handling, read). */
  requestTimeoutMs?: number
  maxFrameBytes?: number
  maxFramesPerMessage?: number
  /** Gossip messages larger than this are refused (publish) or rejected and counted (receive). */
  maxMessageBytes?: number
  /** Concurrent inbound streams per protocol across all peers (libp2p also bounds them per connection). */
  maxInboundStreams?: number
  /** Requests in flight per (peer, protocol); more wait for a slot (within their timeout). */
  maxOutboundRequests?: number
  gossip?: Partial<GossipTuning>
  dht?: { protocol?: string; clientMode?: boolean }
  metrics?: NetworkMetrics
  validator?: MessageValidator
  /** How often to redial the bootstrap peers (and `knownPeers`) while no peer is connected. */
  redialMs?: number
  /** More peers to dial at start and while alone (e.g. a peer book). */
  knownPeers?: () => { peerId: string; addresses: string[] }[]
  /** After this long, stop() aborts the remaining connections instead of closing them gracefully. */
  stopTimeoutMs?: number
}

export interface GossipMessage {
  topic: string
  /** The peer that delivered the message (StrictNoSign messages carry no origin). */
  from: string
  data: Uint8Array
  msgId?: string
}

export type ValidationResult = 'accept' | 'reject' | 'ignore'
/** Decides, before delivery and forwarding, what happens to a received gossip message. */
export type MessageValidator = (m: Omit<GossipMessage, 'msgId'>) => ValidationResult | Promise<ValidationResult>

export interface InboundRequest {
  peerId: string
  protocol: string
  frames: Uint8Array[]
  /** Aborted when the request times out or the node stops. */
  signal: AbortSignal
}
export type RequestHandler = (req: InboundRequest) => Uint8Array[] | Promise<Uint8Array[]>
export type ChannelHandler = (channel: FramedStream, peerId: string) => void | Promise<void>

export interface PeerInfo {
  peerId: string
  addresses: string[]
  /** Round-trip time measured by libp2p's connection monitor, when known. */
  latencyMs?: number
}

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

type Services = { pubsub: GossipSub; ping: { ping(peer: PeerId | Multiaddr, options?: { signal?: AbortSignal }): Promise<number> } }

interface HandlerEntry {
  kind: 'request' | 'channel'
  request?: RequestHandler
  channel?: ChannelHandler
  active: number
  maxActive: number
  timeoutMs: number
}

const MAX_TOPIC_LENGTH = 256

export class NetworkNode {
  private node?: Libp2p<Services>
  private readonly opts: Required<Omit<NetworkNodeOptions, 'validator' | 'knownPeers' | 'metrics' | 'gossip' | 'dht'>> & NetworkNodeOptions
  readonly metrics: NetworkMetrics
  private validator?: MessageValidator
  /** Validators of a topic family (by topic prefix), e.g. each replicator's for its topics. */
  private readonly prefixValidators = new Map<string, MessageValidator>()
  private readonly listeners = new Map<keyof NetworkEvents, Set<(e: never) => void>>()
  private readonly handlers = new Map<string, HandlerEntry>()
  private readonly topics = new Set<string>()
  private readonly outbound = new Map<string, { active: number; waiting: (() => void)[] }>()
  private lifetime = new AbortController()
  /** Per peer: the last of our pings (see ping). */
  private readonly pinging = new Map<string, Promise<unknown>>()
  private redial?: NodeJS.Timeout
  private readonly _peerId: string
  /** Listener exceptions (a listener must not break libp2p's dispatch). */
  listenerErrors = 0

  constructor(options: NetworkNodeOptions) {
    if (!(options.seed instanceof Uint8Array) || options.seed.byteLength !== 32) {
      throw new MeroError('InvalidInput', 'the network key must be a 32-byte Ed25519 seed')
    }
    for (const a of options.listen) parseMultiaddr(a, 'listen address')
    for (const a of options.bootstrap ?? []) parseMultiaddr(a, 'bootstrap address')
    this.opts = {
      bootstrap: [],
      dialTimeoutMs: 5_000,
      requestTimeoutMs: 10_000,
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      maxFramesPerMessage: 1024,
      maxMessageBytes: 1024 * 1024,
      maxInboundStreams: 64,
      maxOutboundRequests: 16,
      redialMs: 5_000,
      stopTimeoutMs: 2_000,
      ...definedOnly(options),
      seed: options.seed,
      listen: options.listen,
    }
    this.metrics = options.metrics ?? new NetworkMetrics()
    this.validator = options.validator
    this._peerId = peerIdFromPublicKey(keyPairFromSeed(options.seed).publicKey)
  }

  /** Known from the seed, before start. */
  get peerId(): string {
    return this._peerId
  }

  get started(): boolean {
    return this.node !== undefined
  }

  async start(): Promise<void> {
    if (this.node) return
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
    this.lifetime = new AbortController()
    // one listener per request in flight
    setMaxListeners(Infinity, this.lifetime.signal)
    const pubsub = this.node.services.pubsub
    pubsub.addEventListener('gossipsub:message', (evt) => {
      const { propagationSource, msg, msgId } = evt.detail
      this.metrics.messageIn(msg.topic)
      this.emit('message', { topic: msg.topic, from: propagationSource.toString(), data: msg.data, msgId })
    })
    pubsub.addEventListener('subscription-change', (evt) => {
      const peerId = evt.detail.peerId.toString()
      for (const s of evt.detail.subscriptions) this.emit('subscription:change', { peerId, topic: s.topic, subscribed: s.subscribe })
    })
    node.addEventListener('peer:connect', (evt) => this.emit('peer:connected', { peerId: evt.detail.toString() }))
    node.addEventListener('peer:disconnect', (evt) => this.emit('peer:disconnected', { peerId: evt.detail.toString() }))
    node.addEventListener('peer:identify', (evt) => {
      const { peerId, listenAddrs } = evt.detail
      this.emit('peer:identified', { peerId: peerId.toString(), listenAddresses: listenAddrs.map((a) => a.toString()) })
    })
    for (const t of this.topics) this.subscribeOnHost(t)
    for (const [protocol, entry] of this.handlers) await this.register(protocol, entry)
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
    this.lifetime.abort(new MeroError('Unavailable', 'the network is stopping'))
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
    const suffix = `/p2p/${this._peerId}`
    return this.node.getMultiaddrs().map((a) => a.toString().replace(suffix, ''))
  }

  // ---- events

  on<K extends keyof NetworkEvents>(event: K, listener: (e: NetworkEvents[K]) => void): () => void {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener as (e: never) => void)
    return () => void set.delete(listener as (e: never) => void)
  }

  private emit<K extends keyof NetworkEvents>(event: K, payload: NetworkEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) {
      try {
        ;(l as (e: NetworkEvents[K]) => void)(payload)
      } catch {
        this.listenerErrors++
      }
    }
  }

  // ---- peers and dialling

  /** Dials a multiaddr; resolves with the remote peer id. */
  async connect(address: string, signal?: AbortSignal): Promise<string> {
    const ma = parseMultiaddr(address, 'address')
    try {
      const conn = await this.host.dial(ma, { signal: this.dialSignal(signal) })
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
      if (this.host.getConnections(id).length > 0) return target.peerId
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
        if (signal?.aborted || this.lifetime.signal.aborted) break
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

  /** Round trip to a connected (or dialable) peer, in milliseconds, with the ping protocol. */
  async ping(peerId: string, timeoutMs = this.opts.dialTimeoutMs): Promise<number> {
    const id = parsePeerId(peerId)
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.lifetime.signal])
    // one of ours per peer at a time: the other outbound ping stream is the connection monitor's
    const before = this.pinging.get(peerId) ?? Promise.resolve()
    const mine = before.then(async () => {
      signal.throwIfAborted()
      return this.host.services.ping.ping(id, { signal })
    })
    const settled = mine.catch(() => undefined)
    this.pinging.set(peerId, settled)
    void settled.then(() => {
      if (this.pinging.get(peerId) === settled) this.pinging.delete(peerId)
    })
    try {
      return await mine
    } catch (e) {
      throw new MeroError('PeerUnreachable', `cannot ping ${peerId}: ${(e as Error).message}`)
    }
  }

  // ---- content routing (kad-dht)

  /** Announces in the DHT that this node holds the content with this 32-byte id (e.g. a blob id). */
  async provide(contentId: Uint8Array, timeoutMs = 10_000): Promise<void> {
    const cid = contentCid(contentId)
    try {
      await this.host.contentRouting.provide(cid, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.lifetime.signal]) })
    } catch (e) {
      throw new MeroError('Unavailable', `cannot announce ${Buffer.from(contentId).toString('hex')} in the DHT: ${(e as Error).message}`)
    }
  }

  /**
   * Stops announcing the content: this node's provider record for it goes, and the DHT's
   * periodic re-announcement skips it. Records other peers stored expire on their own.
   */
  async withdraw(contentId: Uint8Array, timeoutMs = 10_000): Promise<void> {
    const cid = contentCid(contentId)
    try {
      await this.host.contentRouting.cancelReprovide(cid, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.lifetime.signal]) })
    } catch (e) {
      throw new MeroError('Unavailable', `cannot withdraw ${Buffer.from(contentId).toString('hex')} from the DHT: ${(e as Error).message}`)
    }
  }

  /**
   * Peers that announced the content (this node excluded), with their addresses, found through
   * the DHT within `timeoutMs`; at most `limit`. An empty list when none was found in time.
   */
  async findProviders(contentId: Uint8Array, options: { timeoutMs?: number; limit?: number } = {}): Promise<{ peerId: string; addresses: string[] }[]> {
    const cid = contentCid(contentId)
    const limit = options.limit ?? 8
    const found = new Map<string, string[]>()
    const ctrl = new AbortController()
    const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? 5_000), this.lifetime.signal, ctrl.signal])
    try {
      for await (const p of this.host.contentRouting.findProviders(cid, { signal })) {
        const id = p.id.toString()
        if (id === this._peerId) continue
        const addresses = p.multiaddrs.map((a) => a.toString())
        found.set(id, [...new Set([...(found.get(id) ?? []), ...addresses])])
        if (found.size >= limit) break
      }
    } catch (e) {
      if (!signal.aborted) throw new MeroError('Unavailable', `the DHT lookup failed: ${(e as Error).message}`)
    } finally {
      ctrl.abort()
    }
    return [...found].map(([peerId, addresses]) => ({ peerId, addresses }))
  }

  // ---- topics

  setValidator(validator: MessageValidator | undefined): void {
    this.validator = validator
  }

  /**
   * Validates the messages of the topics starting with `topicPrefix` (one validator per prefix;
   * a later one replaces it), before they are delivered or forwarded. The node-wide validator of
   * setValidator, when set, runs as well; the strictest verdict wins. Returns the removal.
   */
  addValidator(topicPrefix: string, validator: MessageValidator): () => void {
    this.prefixValidators.set(topicPrefix, validator)
    return () => {
      if (this.prefixValidators.get(topicPrefix) === validator) this.prefixValidators.delete(topicPrefix)
    }
  }

  /** Publishes to a topic; resolves with how many peers it was sent to (0 when alone). */
  async publish(topic: string, data: Uint8Array): Promise<number> {
    checkTopic(topic)
    if (data.byteLength > this.opts.maxMessageBytes) {
      throw new MeroError('LimitExceeded', `a gossip message of ${data.byteLength} bytes exceeds the maximum of ${this.opts.maxMessageBytes}`)
    }
    const result = await this.host.services.pubsub.publish(topic, data)
    this.metrics.messageOut(topic)
    return result.recipients.length
  }

  /** Subscribes (also before start: topics are joined when the node starts). */
  subscribe(topic: string): void {
    checkTopic(topic)
    this.topics.add(topic)
    if (this.node) this.subscribeOnHost(topic)
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic)
    if (!this.node) return
    this.node.services.pubsub.unsubscribe(topic)
    this.node.services.pubsub.topicValidators.delete(topic)
  }

  subscriptions(): string[] {
    return [...this.topics]
  }

  /** Peers known to be subscribed to a topic. */
  topicPeers(topic: string): string[] {
    return this.node ? this.node.services.pubsub.getSubscribers(topic).map((p) => p.toString()) : []
  }

  private subscribeOnHost(topic: string): void {
    const pubsub = this.host.services.pubsub
    pubsub.topicValidators.set(topic, (peer, msg) => this.validate(peer, msg))
    pubsub.subscribe(topic)
  }

  private async validate(peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    if (msg.data.byteLength > this.opts.maxMessageBytes) {
      this.metrics.dropped('oversize', msg.topic)
      return TopicValidatorResult.Reject
    }
    let result: ValidationResult = 'accept'
    try {
      for (const [prefix, v] of this.prefixValidators) {
        if (!msg.topic.startsWith(prefix)) continue
        const r = v({ topic: msg.topic, from: peer.toString(), data: msg.data })
        // a synchronous verdict costs no extra turn of the microtask queue
        result = stricter(result, r instanceof Promise ? await r : r)
      }
      if (this.validator && result !== 'reject') {
        const r = this.validator({ topic: msg.topic, from: peer.toString(), data: msg.data })
        result = stricter(result, r instanceof Promise ? await r : r)
      }
    } catch {
      this.metrics.dropped('validator-error', msg.topic)
      return TopicValidatorResult.Ignore
    }
    if (result === 'accept') return TopicValidatorResult.Accept
    this.metrics.dropped(result === 'reject' ? 'rejected' : 'ignored', msg.topic)
    return result === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }

  // ---- streams

  /**
   * Serves request/response on a protocol: the handler receives the request's frames and
   * returns the response's frames; a thrown MeroError reaches the requester with its kind.
   */
  async handle(protocol: string, handler: RequestHandler, options: { maxConcurrent?: number; timeoutMs?: number } = {}): Promise<void> {
    await this.addHandler(protocol, { kind: 'request', request: handler, active: 0, maxActive: options.maxConcurrent ?? this.opts.maxInboundStreams, timeoutMs: options.timeoutMs ?? this.opts.requestTimeoutMs })
  }

  /** Serves a conversational protocol: the handler owns the channel (and must close it). */
  async handleChannel(protocol: string, handler: ChannelHandler, options: { maxConcurrent?: number } = {}): Promise<void> {
    await this.addHandler(protocol, { kind: 'channel', channel: handler, active: 0, maxActive: options.maxConcurrent ?? this.opts.maxInboundStreams, timeoutMs: 0 })
  }

  async unhandle(protocol: string): Promise<void> {
    this.handlers.delete(protocol)
    await this.node?.unhandle(protocol)
  }

  /**
   * Sends a request (frames) and resolves with the response's frames. Dials `addresses` first
   * when the peer is not connected. Fails with Timeout after `timeoutMs` (whole exchange).
   */
  async request(peerId: string, protocol: string, frames: Uint8Array[], options: { timeoutMs?: number; addresses?: string[] } = {}): Promise<Uint8Array[]> {
    const timeoutMs = options.timeoutMs ?? this.opts.requestTimeoutMs
    if (frames.length > this.opts.maxFramesPerMessage) {
      throw new MeroError('LimitExceeded', `a request of ${frames.length} frames exceeds the maximum of ${this.opts.maxFramesPerMessage}`)
    }
    const { signal, done } = this.deadline(timeoutMs)
    let ch: FramedStream | undefined
    let release: (() => void) | undefined
    try {
      release = await this.outboundSlot(`${peerId} ${protocol}`, signal)
      // the request travels with the protocol proposal (one round trip less than negotiating first)
      ch = new FramedStream(await this.openStream(peerId, protocol, signal, options.addresses, false), this.opts.maxFrameBytes)
      await writeMessage(ch, frames, signal)
      ch.close()
      const response = await readMessage(ch, this.opts.maxFramesPerMessage, signal)
      this.metrics.request(protocol, 'outbound', 'ok')
      return response
    } catch (e) {
      ch?.abort('request failed')
      if (this.lifetime.signal.aborted) {
        this.metrics.request(protocol, 'outbound', 'error')
        throw new MeroError('Unavailable', `the request to ${peerId} was cut short: the network is stopping`)
      }
      if (signal.aborted) {
        this.metrics.request(protocol, 'outbound', 'timeout')
        throw new MeroError('Timeout', `no response from ${peerId} on ${protocol} within ${timeoutMs} ms`)
      }
      this.metrics.request(protocol, 'outbound', isMeroError(e) && e.details?.remote ? 'refused' : 'error')
      if (isMeroError(e)) throw e
      throw new MeroError('PeerUnreachable', `request to ${peerId} on ${protocol} failed: ${(e as Error).message}`)
    } finally {
      release?.()
      done()
    }
  }

  /**
   * Waits for one of the `maxOutboundRequests` slots of a (peer, protocol): requests beyond it
   * queue here instead of overrunning the peer's inbound limit or libp2p's stream limit.
   */
  private async outboundSlot(key: string, signal: AbortSignal): Promise<() => void> {
    let slot = this.outbound.get(key)
    if (!slot) this.outbound.set(key, (slot = { active: 0, waiting: [] }))
    const s = slot
    if (s.active >= this.opts.maxOutboundRequests) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          s.waiting.splice(s.waiting.indexOf(wake), 1)
          reject(signal.reason)
        }
        const wake = () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
        s.waiting.push(wake)
        signal.addEventListener('abort', onAbort, { once: true })
      })
    } else s.active++
    return () => {
      const next = s.waiting.shift()
      if (next) next() // the slot passes on
      else if (--s.active === 0) this.outbound.delete(key)
    }
  }

  /** Opens a frame channel to a peer for a conversational protocol. */
  async openChannel(peerId: string, protocol: string, options: { addresses?: string[]; signal?: AbortSignal } = {}): Promise<FramedStream> {
    const signal = this.dialSignal(options.signal)
    try {
      return new FramedStream(await this.openStream(peerId, protocol, signal, options.addresses), this.opts.maxFrameBytes)
    } catch (e) {
      if (isMeroError(e)) throw e
      throw new MeroError('PeerUnreachable', `cannot open ${protocol} to ${peerId}: ${(e as Error).message}`)
    }
  }

  private async openStream(peerId: string, protocol: string, signal: AbortSignal, addresses?: string[], negotiateFully = true): Promise<Stream> {
    const id = parsePeerId(peerId)
    const open = this.host.getConnections(id).find((c) => c.status === 'open')
    // an open connection takes the stream directly: the connection manager's dial path costs
    // more than the stream itself on loopback
    if (open) return open.newStream(protocol, { signal, negotiateFully })
    if (addresses?.length) await this.dialPeer({ peerId, addresses }, signal)
    return this.host.dialProtocol(id, protocol, { signal, negotiateFully })
  }

  private async addHandler(protocol: string, entry: HandlerEntry): Promise<void> {
    if (!protocol.startsWith('/')) throw new MeroError('InvalidInput', `a protocol id starts with "/" (got ${JSON.stringify(protocol)})`)
    this.handlers.set(protocol, entry)
    if (this.node) await this.register(protocol, entry)
  }

  private async register(protocol: string, entry: HandlerEntry): Promise<void> {
    await this.host.handle(protocol, (stream, connection) => this.inbound(protocol, entry, stream, connection), {
      // above our own limit, so that a peer over it gets our "busy" answer rather than a reset
      maxInboundStreams: entry.maxActive + 8,
      force: true,
    })
  }

  private async inbound(protocol: string, entry: HandlerEntry, stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const ch = new FramedStream(stream, this.opts.maxFrameBytes)
    if (entry.active >= entry.maxActive) {
      this.metrics.dropped('busy')
      this.emit('stream:refused', { peerId, protocol })
      this.metrics.request(protocol, 'inbound', 'refused')
      if (entry.kind === 'channel') return ch.abort(`${protocol} is busy`)
      await writeError(ch, new MeroError('Unavailable', `${protocol} is busy (${entry.maxActive} streams in progress); retry later`)).catch(() => undefined)
      ch.close()
      return
    }
    entry.active++
    if (entry.kind === 'channel') {
      if (stream.status !== 'open') entry.active--
      else stream.addEventListener('close', () => entry.active--, { once: true })
      try {
        await entry.channel!(ch, peerId)
      } catch {
        ch.abort('handler failed')
      }
      return
    }
    const { signal, done } = this.deadline(entry.timeoutMs)
    try {
      const frames = await readMessage(ch, this.opts.maxFramesPerMessage, signal)
      let response: Uint8Array[]
      try {
        response = await raceAbort(Promise.resolve(entry.request!({ peerId, protocol, frames, signal })), signal)
        this.checkResponse(response)
      } catch (e) {
        if (signal.aborted) throw e
        await writeError(ch, e, signal)
        ch.close()
        this.metrics.request(protocol, 'inbound', 'error')
        return
      }
      await writeMessage(ch, response, signal)
      ch.close()
      this.metrics.request(protocol, 'inbound', 'ok')
    } catch {
      ch.abort('request failed')
      this.metrics.request(protocol, 'inbound', signal.aborted ? 'timeout' : 'error')
    } finally {
      done()
      entry.active--
    }
  }

  /** A handler's response must fit the limits the requester applies (it gets a typed error otherwise). */
  private checkResponse(response: unknown): asserts response is Uint8Array[] {
    if (!Array.isArray(response) || !response.every((f) => f instanceof Uint8Array)) throw new MeroError('Internal', 'the handler returned no frames')
    if (response.length > this.opts.maxFramesPerMessage) {
      throw new MeroError('LimitExceeded', `a response of ${response.length} frames exceeds the maximum of ${this.opts.maxFramesPerMessage}`)
    }
    for (const f of response) {
      if (f.byteLength > this.opts.maxFrameBytes) throw new MeroError('LimitExceeded', `a response frame of ${f.byteLength} bytes exceeds the maximum of ${this.opts.maxFrameBytes}`)
    }
  }

  // ---- internals

  private get host(): Libp2p<Services> {
    if (!this.node) throw new MeroError('Unavailable', 'the p2p network is not started')
    return this.node
  }

  /**
   * A signal aborted after `ms` or when the node stops; `done()` releases the timer and the
   * listener as soon as the exchange is over (AbortSignal.timeout would hold them until it fires).
   */
  private deadline(ms: number): { signal: AbortSignal; done: () => void } {
    const ctrl = new AbortController()
    const lifetime = this.lifetime.signal
    const timer = setTimeout(() => ctrl.abort(new MeroError('Timeout', `timed out after ${ms} ms`)), ms)
    const onStop = () => ctrl.abort(lifetime.reason)
    lifetime.addEventListener('abort', onStop, { once: true })
    return {
      signal: ctrl.signal,
      done: () => {
        clearTimeout(timer)
        lifetime.removeEventListener('abort', onStop)
      },
    }
  }

  private dialSignal(signal?: AbortSignal): AbortSignal {
    const signals = [AbortSignal.timeout(this.opts.dialTimeoutMs), this.lifetime.signal]
    if (signal) signals.push(signal)
    return AbortSignal.any(signals)
  }

  /** Dials the bootstrap peers and the known peers, in the background. */
  private dialKnown(): void {
    for (const address of this.opts.bootstrap) void this.connect(address).catch(() => undefined)
    for (const p of this.opts.knownPeers?.() ?? []) {
      if (p.peerId === this._peerId) continue
      void this.dialPeer(p).catch(() => undefined)
    }
  }
}

/** reject > ignore > accept; anything else a validator returns counts as ignore. */
function stricter(a: ValidationResult, b: ValidationResult): ValidationResult {
  if (a === 'reject' || b === 'reject') return 'reject'
  if (a === 'ignore' || b !== 'accept') return 'ignore'
  return 'accept'
}

/** The CID under which content is announced: raw codec, the 32-byte id as a SHA-256 digest. */
function contentCid(contentId: Uint8Array): CID {
  if (!(contentId instanceof Uint8Array) || contentId.byteLength !== 32) throw new MeroError('InvalidInput', 'a content id is 32 bytes')
  return CID.createV1(0x55, createDigest(0x12, contentId))
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

function parseMultiaddr(address: string, what: string): Multiaddr {
  try {
    return multiaddr(address)
  } catch (e) {
    throw new MeroError('InvalidInput', `invalid ${what} ${JSON.stringify(address)}: ${(e as Error).message}`)
  }
}

function parsePeerId(peerId: string): PeerId {
  try {
    return peerIdFromString(peerId)
  } catch {
    throw new MeroError('InvalidInput', `invalid peer id ${JSON.stringify(peerId)}`)
  }
}

function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new MeroError('InvalidInput', `a topic is 1 to ${MAX_TOPIC_LENGTH} characters (got ${JSON.stringify(String(topic).slice(0, 40))})`)
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}
