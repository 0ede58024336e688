import { z } from 'zod'
import type { FramedStream } from '../../src/core/network/frames.js'
import { parsePeerId } from '../../src/core/network/host.js'
import type { Libp2pNetwork } from '../../src/core/network/libp2p-network.js'
import { ERROR_KINDS, MeroError, isMeroError, type ErrorKind } from '../../src/core/primitives/errors.js'

/**
 * Request/response over streams and ping: test-only tools over a Libp2pNetwork (the node's own
 * protocols are conversations of frames; these exercise the stream layer's limits, timeouts and
 * refusals one request at a time).
 *
 * A request or a response is a header frame `[status u8][frame count u32 LE]`, then that many
 * frames. An error response carries one frame, JSON `{kind, message}`, so that a handler's typed
 * error reaches the requester with its kind.
 */
export interface InboundRequest {
  peerId: string
  protocol: string
  frames: Uint8Array[]
  /** Aborted when the request times out or the node stops. */
  signal: AbortSignal
}
export type RequestHandler = (req: InboundRequest) => Uint8Array[] | Promise<Uint8Array[]>

export interface RequestOptions {
  maxFrameBytes: number
  maxFramesPerMessage: number
  /** Default time limit of one request (dial, write, the peer's handling, read). */
  requestTimeoutMs: number
  /** Requests in flight per (peer, protocol); more wait for a slot (within their timeout). */
  maxOutboundRequests: number
}

const STATUS_OK = 0
const STATUS_ERROR = 1
const ErrorBody = z.object({ kind: z.string().max(64), message: z.string().max(2000) })

export class Requests {
  private readonly outbound = new Map<string, { active: number; waiting: (() => void)[] }>()

  constructor(
    private readonly net: Libp2pNetwork,
    private readonly opts: RequestOptions,
  ) {}

  /**
   * Serves request/response on a protocol: the handler receives the request's frames and
   * returns the response's frames; a thrown MeroError reaches the requester with its kind.
   */
  async serve(protocol: string, handler: RequestHandler, options: { maxConcurrent?: number; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.opts.requestTimeoutMs
    await this.net.handle(protocol, (ch, peerId) => this.inbound(protocol, handler, timeoutMs, ch, peerId), {
      maxConcurrent: options.maxConcurrent,
      onBusy: async (ch, proto, max) => {
        await writeError(ch, new MeroError('Unavailable', `${proto} is busy (${max} streams in progress); retry later`))
        ch.close()
      },
    })
  }

  /**
   * Sends a request (frames) and resolves with the response's frames. Dials `addresses` first
   * when the peer is not connected. Fails with Timeout after `timeoutMs` (whole exchange).
   */
  async request(peerId: string, protocol: string, frames: Uint8Array[], options: { timeoutMs?: number; addresses?: string[] } = {}): Promise<Uint8Array[]> {
    const timeoutMs = options.timeoutMs ?? this.opts.requestTimeoutMs
    const metrics = this.net.metrics
    if (frames.length > this.opts.maxFramesPerMessage) {
      throw new MeroError('LimitExceeded', `a request of ${frames.length} frames exceeds the maximum of ${this.opts.maxFramesPerMessage}`)
    }
    const { signal, done } = this.deadline(timeoutMs)
    let ch: FramedStream | undefined
    let release: (() => void) | undefined
    try {
      release = await this.outboundSlot(`${peerId} ${protocol}`, signal)
      // the request travels with the protocol proposal (one round trip less than negotiating first)
      ch = await this.net.streams.open(peerId, protocol, { signal, addresses: options.addresses, optimistic: true })
      await ch.sendAll([header(STATUS_OK, frames.length), ...frames], signal)
      ch.close()
      const response = await readMessage(ch, this.opts.maxFramesPerMessage, signal)
      metrics.request(protocol, 'outbound', 'ok')
      return response
    } catch (e) {
      ch?.abort('request failed')
      if (this.net.host.lifetime.aborted) {
        metrics.request(protocol, 'outbound', 'error')
        throw new MeroError('Unavailable', `the request to ${peerId} was cut short: the network is stopping`)
      }
      if (signal.aborted) {
        metrics.request(protocol, 'outbound', 'timeout')
        throw new MeroError('Timeout', `no response from ${peerId} on ${protocol} within ${timeoutMs} ms`)
      }
      metrics.request(protocol, 'outbound', isMeroError(e) && e.details?.remote ? 'refused' : 'error')
      if (isMeroError(e)) throw e
      throw new MeroError('PeerUnreachable', `request to ${peerId} on ${protocol} failed: ${(e as Error).message}`)
    } finally {
      release?.()
      done()
    }
  }

  private async inbound(protocol: string, handler: RequestHandler, timeoutMs: number, ch: FramedStream, peerId: string): Promise<void> {
    const metrics = this.net.metrics
    const { signal, done } = this.deadline(timeoutMs)
    try {
      const frames = await readMessage(ch, this.opts.maxFramesPerMessage, signal)
      let response: Uint8Array[]
      try {
        response = await raceAbort(Promise.resolve(handler({ peerId, protocol, frames, signal })), signal)
        this.checkResponse(response)
      } catch (e) {
        if (signal.aborted) throw e
        await writeError(ch, e, signal)
        ch.close()
        metrics.request(protocol, 'inbound', 'error')
        return
      }
      await ch.sendAll([header(STATUS_OK, response.length), ...response], signal)
      ch.close()
      metrics.request(protocol, 'inbound', 'ok')
    } catch {
      ch.abort('request failed')
      metrics.request(protocol, 'inbound', signal.aborted ? 'timeout' : 'error')
    } finally {
      done()
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

  /** A signal aborted after `ms` or when the network stops; `done()` releases the timer and the listener. */
  private deadline(ms: number): { signal: AbortSignal; done: () => void } {
    const ctrl = new AbortController()
    const lifetime = this.net.host.lifetime
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
}

/** Per network, per peer: the last of our pings (see ping). */
const pinging = new WeakMap<Libp2pNetwork, Map<string, Promise<unknown>>>()

/**
 * Round trip to a peer, in milliseconds, with the ping protocol. One of ours per peer at a time:
 * the other outbound ping stream the host allows is libp2p's connection monitor's.
 */
export async function ping(net: Libp2pNetwork, peerId: string, timeoutMs = 5_000): Promise<number> {
  const id = parsePeerId(peerId)
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), net.host.lifetime])
  let perPeer = pinging.get(net)
  if (!perPeer) pinging.set(net, (perPeer = new Map()))
  const chain = perPeer
  const before = chain.get(peerId) ?? Promise.resolve()
  const mine = before.then(async () => {
    signal.throwIfAborted()
    return net.host.libp2p.services.ping.ping(id, { signal })
  })
  const settled = mine.catch(() => undefined)
  chain.set(peerId, settled)
  void settled.then(() => {
    if (chain.get(peerId) === settled) chain.delete(peerId)
  })
  try {
    return await mine
  } catch (e) {
    throw new MeroError('PeerUnreachable', `cannot ping ${peerId}: ${(e as Error).message}`)
  }
}

function header(status: number, count: number): Uint8Array {
  const h = Buffer.alloc(5)
  h[0] = status
  h.writeUInt32LE(count, 1)
  return h
}

export async function writeError(ch: FramedStream, error: unknown, signal?: AbortSignal): Promise<void> {
  const kind: ErrorKind = isMeroError(error) ? error.kind : 'Internal'
  const message = isMeroError(error) ? error.message : 'the handler failed'
  const body = Buffer.from(JSON.stringify({ kind, message: message.slice(0, 2000) }))
  await ch.sendAll([header(STATUS_ERROR, 1), body], signal)
}

/** Writes one message (a request or a response). */
export async function writeMessage(ch: FramedStream, frames: Uint8Array[], signal?: AbortSignal): Promise<void> {
  await ch.sendAll([header(STATUS_OK, frames.length), ...frames], signal)
}

/** Reads one message; an error response is thrown as a MeroError of the sender's kind. */
export async function readMessage(ch: FramedStream, maxFrames: number, signal?: AbortSignal): Promise<Uint8Array[]> {
  const head = await ch.read(signal)
  if (head.byteLength !== 5) throw new MeroError('InvalidInput', `malformed message header (${head.byteLength} bytes, expected 5)`)
  const status = head[0]
  const count = Buffer.from(head.buffer, head.byteOffset, 5).readUInt32LE(1)
  if (status !== STATUS_OK && status !== STATUS_ERROR) throw new MeroError('InvalidInput', `unknown message status ${status}`)
  if (count > maxFrames) throw new MeroError('LimitExceeded', `a message of ${count} frames exceeds the maximum of ${maxFrames}`)
  if (status === STATUS_ERROR) {
    if (count !== 1) throw new MeroError('InvalidInput', 'malformed error response')
    throw remoteError(await ch.read(signal))
  }
  const frames: Uint8Array[] = []
  for (let i = 0; i < count; i++) frames.push(await ch.read(signal))
  return frames
}

function remoteError(frame: Uint8Array): MeroError {
  let body: z.infer<typeof ErrorBody>
  try {
    body = ErrorBody.parse(JSON.parse(Buffer.from(frame).toString('utf8')))
  } catch {
    return new MeroError('InvalidInput', 'the peer sent a malformed error response')
  }
  const kind = (body.kind in ERROR_KINDS ? body.kind : 'Internal') as ErrorKind
  return new MeroError(kind, `the peer refused the request: ${body.message}`, { remote: true })
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
