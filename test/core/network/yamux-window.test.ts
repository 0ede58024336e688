import { afterEach, describe, expect, it } from 'vitest'
import { windowUpdates } from '../../../src/core/network/yamux-window.js'
import { inbox, meshOn, Nodes, waitFor } from './helpers.js'

const nodes = new Nodes()
afterEach(() => nodes.stopAll())

describe('yamux window updates', () => {
  it('a stream returns credit once half its window is used, not after every frame', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    for (const n of [a, b]) n.subscribe('t')
    await meshOn('t', a, b)
    const got = inbox(b)
    const before = { ...windowUpdates }
    const count = 300
    for (let i = 0; i < count; i++) {
      const m = Buffer.alloc(600, 1)
      m.writeUInt32BE(i, 0) // distinct: a message's id is its data's hash
      await a.publish('t', m)
    }
    await waitFor(() => got.length === count, 'every message')
    // 300 frames of ~600 bytes are ~180 KB, under one 256 KB window: one or two updates, not 300
    expect(windowUpdates.deferred - before.deferred).toBeGreaterThanOrEqual(count - 20)
    expect(windowUpdates.sent - before.sent).toBeLessThan(20)
  })

  it('credit still comes back: a transfer many windows long completes both ways', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    await b.handle('/test/echo/1.0.0', ({ frames }) => frames)
    const big = new Uint8Array(3 * 1024 * 1024).fill(5)
    const before = windowUpdates.sent
    const [echoed] = await a.request(b.peerId, '/test/echo/1.0.0', [big], { addresses: b.listenAddresses() })
    expect(echoed!.byteLength).toBe(big.byteLength)
    expect(echoed!.every((x) => x === 5)).toBe(true)
    expect(windowUpdates.sent - before).toBeGreaterThan(4)
  })
})
