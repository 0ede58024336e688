import type { FrameChannel } from '../../src/core/sync/group-sync.js'
import type { PeerNetwork } from '../../src/core/network/transport.js'
import { decodeFrame, type SyncFrame } from '../../src/core/sync/wire.js'

/**
 * What happens to a frame a node receives on a stream it opened: passed on (`undefined`),
 * replaced by other bytes, lost (`'drop'`: the node waits for the next one, as from a peer gone
 * silent), or the stream is cut (`'close'`, as when the peer goes away). The hook may also wait
 * first (a slow peer).
 */
export type FrameVerdict = undefined | Uint8Array | 'close' | 'drop'
export type FrameHook = (frame: SyncFrame, raw: Uint8Array, index: number) => FrameVerdict | Promise<FrameVerdict>

/**
 * Makes the streams `network` opens from now on pass what they receive through `hook` (the
 * network of a node under test, whose peer misbehaves on the wire). Returns the undo.
 */
export function interceptStreams(network: PeerNetwork, hook: FrameHook): () => void {
  const open = network.open
  network.open = async (peerId, protocol, addresses) => wrapChannel(await open.call(network, peerId, protocol, addresses), hook)
  return () => {
    network.open = open
  }
}

function wrapChannel(ch: FrameChannel, hook: FrameHook): FrameChannel {
  let index = 0
  return {
    send: (frame) => ch.send(frame),
    close: () => ch.close(),
    async receive(timeoutMs) {
      for (;;) {
        const raw = await ch.receive(timeoutMs)
        let frame: SyncFrame
        try {
          frame = decodeFrame(raw)
        } catch {
          return raw
        }
        const verdict = await hook(frame, raw, index++)
        if (verdict === 'drop') continue
        if (verdict === 'close') {
          ch.close()
          throw new Error('the stream was closed by the peer')
        }
        return verdict ?? raw
      }
    },
  }
}

/**
 * Holds the first frame of `type` that `network`'s streams receive (and every stream's frames
 * after it, as a peer that stalls) until `release()`. `held()` says whether it has one.
 */
export function holdFirst(network: PeerNetwork, type: SyncFrame['type']): { held: () => boolean; release: () => void } {
  let release!: () => void
  const released = new Promise<void>((done) => (release = done))
  let held = false
  interceptStreams(network, async (f) => {
    if (f.type === type && !held) {
      held = true
      await released
    }
    return undefined
  })
  return { held: () => held, release }
}
