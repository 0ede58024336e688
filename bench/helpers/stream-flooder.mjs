// Child process of the stream-flood bench: a bare libp2p node (the daemon's own network class)
// that dials a target and keeps `count` streams of a protocol in flight to it for `durationMs`:
// 1,000 at once, and each one the target refuses or ends is opened again at once. Each stream
// sends one garbage frame. It prints how many it opened, how many were refused, and whether the
// target let it stay connected and dial again.
import { generateKeyPair } from '../../dist/core/crypto/ed25519.js'
import { Libp2pNetwork } from '../../dist/core/network/libp2p-network.js'

const [target, protocol, count, durationMs] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5] ?? 3000)]
const net = new Libp2pNetwork({ seed: generateKeyPair().privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], dialTimeoutMs: 2_000 })
await net.start()
const peerId = await net.connect(target)
const libp2p = net.host.libp2p
let opened = 0
let refused = 0
let dialFailures = 0
const deadline = Date.now() + durationMs
const t0 = performance.now()

async function one() {
  while (Date.now() < deadline) {
    try {
      let conn = libp2p.getConnections().find((c) => c.remotePeer.toString() === peerId && c.status === 'open')
      if (!conn) conn = await libp2p.dial(libp2p.getConnections()[0]?.remotePeer ?? (await import('@multiformats/multiaddr')).multiaddr(target), { signal: AbortSignal.timeout(2_000) })
      const s = await conn.newStream(protocol, { maxOutboundStreams: count + 16, signal: AbortSignal.timeout(5_000) })
      opened++
      s.send(Uint8Array.from([3, 0xff, 0xff, 0xff]))
      await new Promise((r) => {
        s.addEventListener('close', r, { once: true })
        setTimeout(r, Math.max(0, Math.min(1_000, deadline - Date.now())))
      })
      if (s.status !== 'closed') s.abort(new Error('next'))
    } catch (e) {
      if (/dial|connection/i.test(e?.name ?? '') && !libp2p.getConnections().length) {
        dialFailures++
        await new Promise((r) => setTimeout(r, 50))
      } else refused++
    }
  }
}
await Promise.all(Array.from({ length: count }, one))
process.stdout.write(JSON.stringify({ opened, refused, dialFailures, ms: performance.now() - t0, connected: libp2p.getConnections().length }) + '\n')
await net.stop()
process.exit(0)
