import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Emitter } from '../primitives/emitter.js'
import { isMeroError, MeroError } from '../primitives/errors.js'
import { FramedStream } from './frames.js'
import { parsePeerId, type Host, type NetworkEvents, type Services } from './host.js'
import type { NetworkMetrics } from './metrics.js'

/**
 * Stream protocols: one handler per protocol, which owns each inbound stream as a conversation of
 * length-prefixed frames (FramedStream), with two bounds on the streams in progress: per peer across
 * all protocols (the host's PeerGuard: an extra one is aborted at once, and is a strike against the
 * peer), and per protocol across all peers (an extra one is refused: the stream is aborted, or
 * `onBusy` answers it, and `stream:refused` names the peer); and streams opened to a peer, dialling
 * its addresses first when it is not connected. Streams run on relayed connections too, limited
 * ones included. Handlers are kept across a stop and a start.
 */
export type ChannelHandler = (channel: FramedStream, peerId: string) => void | Promise<void>

export interface HandleOptions {
  /** Streams of this protocol in progress at once, across all peers (default: maxInboundStreams). */
  maxConcurrent?: number
  /** Answers a stream refused for being over the bound (default: it is aborted). */
  onBusy?: (channel: FramedStream, protocol: string, maxConcurrent: number) => Promise<void>
}

export interface OpenOptions {
  /** Dialled first when the peer is not connected. */
  addresses?: string[]
  signal?: AbortSignal
  /**
   * Sends the protocol proposal with the first frame instead of negotiating first (one round trip
   * less), for protocols whose opener speaks first.
   */
  optimistic?: boolean
}

interface Registration {
  handler: ChannelHandler
  onBusy?: HandleOptions['onBusy']
  active: number
  maxActive: number
}

export class Streams {
  private readonly handlers = new Map<string, Registration>()

  constructor(
    private readonly host: Host,
    private readonly events: Emitter<NetworkEvents>,
    private readonly metrics: NetworkMetrics,
    private readonly opts: { maxFrameBytes: number; maxInboundStreams: number },
  ) {}

  /** The host started: register the handlers added so far. */
  async attach(node: Libp2p<Services>): Promise<void> {
    for (const [protocol, r] of this.handlers) await this.register(node, protocol, r)
  }

  /** Serves a protocol: the handler owns each inbound stream (and must close it). */
  async handle(protocol: string, handler: ChannelHandler, options: HandleOptions = {}): Promise<void> {
    if (!protocol.startsWith('/')) throw new MeroError('InvalidInput', `a protocol id starts with "/" (got ${JSON.stringify(protocol)})`)
    const r: Registration = { handler, onBusy: options.onBusy, active: 0, maxActive: options.maxConcurrent ?? this.opts.maxInboundStreams }
    this.handlers.set(protocol, r)
    if (this.host.started) await this.register(this.host.libp2p, protocol, r)
  }

  async unhandle(protocol: string): Promise<void> {
    this.handlers.delete(protocol)
    if (this.host.started) await this.host.libp2p.unhandle(protocol)
  }

  /** Opens a stream of a protocol to a peer, as frames. */
  async open(peerId: string, protocol: string, options: OpenOptions = {}): Promise<FramedStream> {
    const signal = this.host.dialSignal(options.signal)
    try {
      return new FramedStream(await this.openStream(peerId, protocol, signal, options.addresses, !options.optimistic), this.opts.maxFrameBytes)
    } catch (e) {
      if (isMeroError(e)) throw e
      throw new MeroError('PeerUnreachable', `cannot open ${protocol} to ${peerId}: ${(e as Error).message}`)
    }
  }

  private async openStream(peerId: string, protocol: string, signal: AbortSignal, addresses: string[] | undefined, negotiateFully: boolean): Promise<Stream> {
    const id = parsePeerId(peerId)
    const node = this.host.libp2p
    const open = node.getConnections(id).find((c) => c.status === 'open')
    // an open connection takes the stream directly: the connection manager's dial path costs
    // more than the stream itself on loopback
    if (open) return open.newStream(protocol, { signal, negotiateFully, runOnLimitedConnection: true })
    if (addresses?.length) await this.host.dialPeer({ peerId, addresses }, signal)
    return node.dialProtocol(id, protocol, { signal, negotiateFully, runOnLimitedConnection: true })
  }

  private async register(node: Libp2p<Services>, protocol: string, r: Registration): Promise<void> {
    await node.handle(protocol, (stream, connection) => this.inbound(protocol, r, stream, connection), {
      // above our own limit, so that a peer over it gets our "busy" answer rather than a reset
      maxInboundStreams: r.maxActive + 8,
      runOnLimitedConnection: true,
      force: true,
    })
  }

  private async inbound(protocol: string, r: Registration, stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const release = this.host.guard.admitStream(peerId)
    if (!release) {
      this.metrics.dropped('peer-limit')
      this.metrics.request(protocol, 'inbound', 'refused')
      return stream.abort(new Error(`too many streams from ${peerId}`))
    }
    if (stream.status !== 'open') release()
    else stream.addEventListener('close', release, { once: true })
    const ch = new FramedStream(stream, this.opts.maxFrameBytes)
    if (r.active >= r.maxActive) {
      this.metrics.dropped('busy')
      this.metrics.request(protocol, 'inbound', 'refused')
      if (this.events.listens('stream:refused')) this.events.emit('stream:refused', { peerId: connection.remotePeer.toString(), protocol })
      if (!r.onBusy) return ch.abort(`${protocol} is busy`)
      await r.onBusy(ch, protocol, r.maxActive).catch(() => ch.abort(`${protocol} is busy`))
      return
    }
    r.active++
    if (stream.status !== 'open') r.active--
    else stream.addEventListener('close', () => r.active--, { once: true })
    try {
      await r.handler(ch, peerId)
    } catch {
      ch.abort('handler failed')
    }
  }
}
