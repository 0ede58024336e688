import { FRAME_TIMEOUT_MS, type FrameChannel, type PeerNetwork } from '../network/transport.js'
import { decodeFrame, SYNC_PROTOCOL, type SyncFrame } from './wire.js'

/**
 * The one handler of `/mero/sync/1.0.0`: reads a stream's first frame and hands the stream to
 * the group side (Hello) or the context side (ContextHello). The group side reads its Hello
 * itself, so it gets the stream with that frame put back.
 */
export interface SyncServerRoutes {
  group: (channel: FrameChannel, peerId: string) => void
  context: (channel: FrameChannel, hello: Extract<SyncFrame, { type: 'ContextHello' }>, peerId: string) => void
}

export function registerSyncServer(network: PeerNetwork, routes: SyncServerRoutes, timeoutMs = FRAME_TIMEOUT_MS): void {
  network.handle(SYNC_PROTOCOL, (channel, peerId) => {
    void (async () => {
      const first = await channel.receive(timeoutMs)
      const frame = decodeFrame(first)
      if (frame.type === 'ContextHello') return routes.context(channel, frame, peerId)
      routes.group(replay(channel, first), peerId)
    })().catch(() => channel.close())
  })
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
