import type { FrameChannel } from '../../src/core/network/transport.js'

/** Two connected in-memory frame channels (a transport for in-process protocol tests). */
export function framePair(): [FrameChannel, FrameChannel] {
  const make = (inbox: Uint8Array[], waiters: ((f: Uint8Array | undefined) => void)[], peer: { inbox: Uint8Array[]; waiters: ((f: Uint8Array | undefined) => void)[] }, state: { closed: boolean }): FrameChannel => ({
    async send(frame) {
      if (state.closed) throw new Error('channel closed')
      const w = peer.waiters.shift()
      if (w) w(frame)
      else peer.inbox.push(frame)
    },
    receive(timeoutMs) {
      const ready = inbox.shift()
      if (ready) return Promise.resolve(ready)
      if (state.closed) return Promise.reject(new Error('channel closed'))
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)
        waiters.push((f) => {
          clearTimeout(timer)
          if (f) resolve(f)
          else reject(new Error('channel closed'))
        })
      })
    },
    close() {
      state.closed = true
      for (const w of peer.waiters.splice(0)) w(undefined)
      for (const w of waiters.splice(0)) w(undefined)
    },
  })
  const a = { inbox: [] as Uint8Array[], waiters: [] as ((f: Uint8Array | undefined) => void)[] }
  const b = { inbox: [] as Uint8Array[], waiters: [] as ((f: Uint8Array | undefined) => void)[] }
  const state = { closed: false }
  return [make(a.inbox, a.waiters, b, state), make(b.inbox, b.waiters, a, state)]
}
