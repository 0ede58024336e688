import './shim.js'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { z } from 'zod'
import { ERROR_KINDS, MeroError, isMeroError, type ErrorKind } from '../primitives/errors.js'
import { MAX_FRAME } from '../primitives/limits.js'
import type { FrameChannel } from './transport.js'

/**
 * Length-prefixed frames over a libp2p stream (unsigned varint length, then the bytes), with a
 * maximum frame size enforced on both sides: a sender refuses to write an oversized frame, a
 * receiver refuses to read one (and the stream is aborted).
 */
export class FramedStream implements FrameChannel {
  private readonly lp: LengthPrefixedStream<Stream>

  constructor(
    readonly stream: Stream,
    private readonly maxFrameBytes = MAX_FRAME,
  ) {
    // lpStream buffers unread bytes up to maxBufferSize (4 MiB by default) and aborts the
    // stream beyond it: leave room for a whole maximal frame plus the start of the next.
    this.lp = lpStream(stream, { maxDataLength: maxFrameBytes, maxBufferSize: 2 * maxFrameBytes + 64 * 1024 })
  }

  async send(frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.checkSize(frame)
    await this.lp.write(frame, { signal })
  }

  /** Writes several frames in one write. */
  async sendAll(frames: Uint8Array[], signal?: AbortSignal): Promise<void> {
    for (const f of frames) this.checkSize(f)
    await this.lp.writeV(frames, { signal })
  }

  async read(signal?: AbortSignal): Promise<Uint8Array> {
    try {
      return (await this.lp.read({ signal })).subarray()
    } catch (e) {
      if (signal?.aborted) throw new MeroError('Timeout', 'no frame arrived in time')
      const err = e as Error
      if (err.name === 'InvalidDataLengthError' || err.name === 'InvalidDataLengthLengthError') {
        this.stream.abort(err)
        throw new MeroError('LimitExceeded', `the peer sent a frame larger than ${this.maxFrameBytes} bytes`)
      }
      if (err.name === 'UnexpectedEOFError') throw new MeroError('Unavailable', 'the stream ended before the expected frame')
      throw new MeroError('Unavailable', `the stream failed: ${err.message}`)
    }
  }

  receive(timeoutMs: number): Promise<Uint8Array> {
    return this.read(AbortSignal.timeout(timeoutMs))
  }

  /** Closes the writing side gracefully (the peer reads what was sent, then the end). */
  close(): void {
    this.stream.close().catch((e: Error) => this.stream.abort(e))
  }

  abort(reason: string): void {
    this.stream.abort(new Error(reason))
  }

  private checkSize(frame: Uint8Array): void {
    if (frame.byteLength > this.maxFrameBytes) throw new MeroError('LimitExceeded', `a frame of ${frame.byteLength} bytes exceeds the maximum of ${this.maxFrameBytes}`)
  }
}

/**
 * A request or a response: a header frame `[status u8][frame count u32 LE]`, then that many
 * frames. An error response carries one frame, JSON `{kind, message}`, so that a handler's
 * typed error reaches the requester with its kind.
 */
const STATUS_OK = 0
const STATUS_ERROR = 1
const ErrorBody = z.object({ kind: z.string().max(64), message: z.string().max(2000) })

export async function writeMessage(ch: FramedStream, frames: Uint8Array[], signal?: AbortSignal): Promise<void> {
  await ch.sendAll([header(STATUS_OK, frames.length), ...frames], signal)
}

export async function writeError(ch: FramedStream, error: unknown, signal?: AbortSignal): Promise<void> {
  const kind: ErrorKind = isMeroError(error) ? error.kind : 'Internal'
  const message = isMeroError(error) ? error.message : 'the handler failed'
  const body = Buffer.from(JSON.stringify({ kind, message: message.slice(0, 2000) }))
  await ch.sendAll([header(STATUS_ERROR, 1), body], signal)
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

function header(status: number, count: number): Uint8Array {
  const h = Buffer.alloc(5)
  h[0] = status
  h.writeUInt32LE(count, 1)
  return h
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
