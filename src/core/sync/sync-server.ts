import { FRAME_TIMEOUT_MS, type FrameChannel, type PeerNetwork } from '../network/transport.js'
import { decodeFrame, SYNC_PROTOCOL, type SyncFrame } from './wire.js'

/**
 * The one handler of `/mero/sync/1.0.0`: reads a stream's first frame and hands the stream to
 * the group side (Hello) or the context side (ContextHello). The group side reads its Hello
 * itself, so it gets the stream with that frame put back. A side that is not served closes the
 * stream.
 */
export interface SyncServerRoutes {
  group?: (channel: FrameChannel, peerId: string) => void
  context?: (channel: FrameChannel, hello: Extract<SyncFrame, { type: 'ContextHello' }>, peerId: string) => void
}

export class SyncServer {
  constructor(
    private readonly network: PeerNetwork,
    private readonly routes: SyncServerRoutes,
    private readonly timeoutMs = FRAME_TIMEOUT_MS,
  ) {}

  start(): void {
    this.network.handle(SYNC_PROTOCOL, (channel, peerId) => {
      void (async () => {
        const first = await channel.receive(this.timeoutMs)
        let frame: SyncFrame
        try {
          frame = decodeFrame(first)
        } catch (e) {
          this.network.penalize?.(peerId, 'malformed-frame')
          throw e
        }
        if (frame.type === 'ContextHello') {
          if (!this.routes.context) return channel.close()
          return this.routes.context(channel, frame, peerId)
        }
        if (!this.routes.group) return channel.close()
        this.routes.group(replay(channel, first), peerId)
      })().catch(() => channel.close())
    })
  }

  /** The network stops serving with its own stop. */
  stop(): void {}
}

function replay(channel: FrameChannel, first: Uint8Array): FrameChannel {
  let pending: Uint8Array | undefined = first
  return {
    send: (f) => channel.send(f),
    receive: (t) => {
      if (pending) {
        const f = pending
        pending = undefined
        return Promise.resolve(f)
      }
      return channel.receive(t)
    },
    close: () => channel.close(),
  }
}
