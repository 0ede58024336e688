import { randomBytes } from 'node:crypto'
import type { Stream } from '@libp2p/interface'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Libp2pNetwork } from '../../src/core/network/libp2p-network.js'
import { TestHome, waitFor } from '../helpers/harness.js'

interface Status {
  peerId: string
  listenAddresses: string[]
  network: { banned: { peerId: string; reason: string }[] }
}

/**
 * Issue 17, item 7: one peer opens 200 streams of the sync protocol at once to a real merod. The
 * daemon serves at most `inbound_streams_per_peer` (32) of them at once, refuses the rest at
 * once, and, the flood being a string of strikes, disconnects the peer and refuses it for a while;
 * another peer still connects and is served.
 */
describe('limits per peer against a real daemon', () => {
  const t = new TestHome()
  const peers: Libp2pNetwork[] = []
  let target = ''
  let daemonId = ''

  beforeAll(async () => {
    await t.init('n')
    await t.start('n')
    const s = await t.rpc('n').call<Status>('node.status')
    daemonId = s.peerId
    target = `${s.listenAddresses[0]}/p2p/${s.peerId}`
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled(peers.map((p) => p.stop()))
    await t.cleanup()
  })

  async function peer(): Promise<Libp2pNetwork> {
    const net = new Libp2pNetwork({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'], dialTimeoutMs: 2_000 })
    peers.push(net)
    await net.start()
    return net
  }

  it('serves at most 32 streams of one peer at once, then bans the flooder; another peer is still served', async () => {
    const flooder = await peer()
    await flooder.connect(target)
    const conn = flooder.host.libp2p.getConnections()[0]!
    const flood = async (n: number) => {
      const opened: Stream[] = []
      await Promise.all(
        Array.from({ length: n }, async () => {
          try {
            opened.push(await conn.newStream('/mero/sync/1.0.0', { maxOutboundStreams: 512, signal: AbortSignal.timeout(5_000) }))
          } catch {
            // refused or reset
          }
        }),
      )
      return opened
    }
    // 40 at once: the daemon keeps 32 (each waits for its first frame) and resets 8 at once;
    // 8 strikes are not enough for a ban
    const first = await flood(40)
    await new Promise((r) => setTimeout(r, 300))
    expect(first.filter((s) => s.status === 'open').length).toBe(32)
    expect(flooder.connectedPeers()).toEqual([daemonId])

    // 200 more: every one refused, and the refusals get the peer banned
    await flood(200)
    // the daemon hangs up and names the peer banned, and refuses its dials
    await waitFor(() => flooder.connectedPeers().length === 0, 5_000)
    const status = await t.rpc('n').call<Status>('node.status')
    expect(status.network.banned).toEqual([expect.objectContaining({ peerId: flooder.peerId, reason: 'stream-flood' })])
    // a redial gets through the dialer's handshake at best, and is cut by the daemon's gater:
    // no stream gets through
    await flooder.connect(target).catch(() => undefined)
    await expect(flooder.open(daemonId, '/mero/sync/1.0.0', [target])).rejects.toThrow()
    await waitFor(() => flooder.connectedPeers().length === 0, 5_000)

    // another peer connects and opens a stream as usual
    const honest = await peer()
    expect(await honest.connect(target)).toBe(daemonId)
    const s = await honest.host.libp2p.getConnections()[0]!.newStream('/mero/sync/1.0.0', { signal: AbortSignal.timeout(5_000) })
    await new Promise((r) => setTimeout(r, 200))
    expect(s.status).toBe('open')
  }, 60_000)
})
