// Raw gossipsub one-way latency between two libp2p nodes in two processes (the daemon's own
// network class, same options): the baseline the replication benchmarks compare against.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '../../dist/core/crypto/ed25519.js'
import { Libp2pNetwork } from '../../dist/core/network/libp2p-network.js'
import { summarize } from './stats.mjs'

const PEER = fileURLToPath(new URL('./gossip-peer.mjs', import.meta.url))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Publishes `count` messages of `size` bytes, `gapMs` apart; returns the latency summary (ms). */
export async function rawGossip(count, { size = 200, gapMs = 2 } = {}) {
  const child = spawn(process.execPath, [PEER, 'bench', String(count)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const next = () => new Promise((r) => lines.once('line', (l) => r(JSON.parse(l))))
  const { peerId, address } = await next()
  const net = new Libp2pNetwork({ seed: generateKeyPair().privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  await net.start()
  net.subscribe('bench')
  await net.connect(address)
  for (let i = 0; i < 200 && !net.topicPeers('bench').includes(peerId); i++) await sleep(25)
  const done = next()
  for (let i = 0; i < count; i++) {
    const msg = Buffer.alloc(size, i % 251)
    msg.writeBigUInt64LE(BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)), 0)
    await net.publish('bench', msg)
    await sleep(gapMs)
  }
  const { latencies } = await done
  await net.stop()
  return summarize(latencies)
}
