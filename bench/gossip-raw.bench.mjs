// Raw gossipsub between two processes on loopback (mero's Libp2pNetwork and gossip settings):
// one-way latency of paced messages, throughput of a back-to-back burst, and the round trip of
// a request/response over a stream. DESIGN §2 measured p50 0.87 ms, p99 3.5 ms, 2,173 msg/s,
// ping RTT 0.48 ms on this machine with default settings.
import { measureRawGossip } from './helpers/raw-gossip.mjs'

const count = 2000
const r = await measureRawGossip({ count, intervalMs: 1, size: 200, burst: 5000, rttSamples: 500 })
const line = (bench, value, unit, extra = {}) =>
  process.stdout.write(JSON.stringify({ bench, value: Number(value.toFixed(4)), unit, ...extra }) + '\n')
line('gossip.raw.latency_p50', r.latencyMs.p50, 'ms', { messages: r.latencyMs.count, lost: r.lost, bytes: 200, processes: 2 })
line('gossip.raw.latency_p99', r.latencyMs.p99, 'ms', { messages: r.latencyMs.count })
line('gossip.raw.throughput', r.throughput.msgPerSec, 'msg/s', { messages: r.throughput.count, lost: r.throughput.lost })
line('stream.request_rtt_p50', r.requestRttMs.p50, 'ms', { samples: r.requestRttMs.count, p99: Number(r.requestRttMs.p99.toFixed(4)), note: 'a new stream per request' })
line('stream.channel_rtt_p50', r.channelRttMs.p50, 'ms', { samples: r.channelRttMs.count, p99: Number(r.channelRttMs.p99.toFixed(4)), note: 'one long-lived stream' })

// how long a node with two peers connected and a topic takes to stop (the network-node test checks
// that it stops and frees its port; this is how fast): 5 rounds, fresh nodes each
const { NetworkNode } = await import('../dist/core/network/network-node.js')
const { randomBytes } = await import('node:crypto')
const { median } = await import('./lib/stats.mjs')
const stops = []
for (let round = 0; round < 5; round++) {
  const nodes = [0, 1, 2].map(() => new NetworkNode({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'] }))
  try {
    for (const n of nodes) await n.start()
    const [a, b, c] = nodes
    for (const peer of [b, c]) await peer.connect(`${a.listenAddresses()[0]}/p2p/${a.peerId}`)
    a.subscribe('t')
    const t0 = performance.now()
    await a.stop()
    stops.push(performance.now() - t0)
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
  }
}
line('network.stop_with_peers', median(stops), 'ms', { peers: 2, rounds: stops.map((v) => Number(v.toFixed(1))) })
