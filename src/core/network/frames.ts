import './shim.js'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { MeroError } from '../primitives/errors.js'
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
