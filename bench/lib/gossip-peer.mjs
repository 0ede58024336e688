// Child process of the p2p benchmarks: a bare libp2p node (the daemon's own network class)
// that subscribes to a topic and records the one-way latency of each message, whose first 8
// bytes carry the sender's wall-clock time in microseconds (same machine, same clock).
import { generateKeyPair } from '../../dist/core/crypto/ed25519.js'
import { Libp2pNetwork } from '../../dist/core/network/libp2p-network.js'

const [topic, expected] = [process.argv[2], Number(process.argv[3])]
const net = new Libp2pNetwork({ seed: generateKeyPair().privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
await net.start()
net.subscribe(topic)
const latencies = []
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000
net.onMessage((m) => {
  const sent = Number(Buffer.from(m.data).readBigUInt64LE(0))
  latencies.push((nowUs() - sent) / 1000)
  if (latencies.length === expected) finish()
})
function finish() {
  process.stdout.write(JSON.stringify({ done: true, latencies }) + '\n')
  void net.stop().then(() => process.exit(0))
}
setTimeout(finish, 60_000).unref()
process.stdout.write(JSON.stringify({ peerId: net.peerId, address: `${net.listenAddresses()[0]}/p2p/${net.peerId}` }) + '\n')
