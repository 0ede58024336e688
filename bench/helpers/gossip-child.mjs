// Child process of the raw gossip benchmark: a bare Libp2pNetwork that subscribes to a topic,
// answers an echo protocol (one frame per stream, and on a long-lived stream), and records each message's one-way latency. A message's payload
// starts with [u64 LE send time in ns on the monotonic clock][u32 LE seq][u8 phase][u8 signed];
// the monotonic clock (CLOCK_MONOTONIC) is shared by every process of the machine.
//
// With a 4th argument (an Ed25519 public key, hex), a message whose byte 13 is 1 ends in a
// signature by that key over the rest: the child verifies it and writes one RocksDB batch of 7
// puts (what receiving a delta cannot do without) before taking the time.
//
// stdout: one JSON line per event ({ready, peerId, address}, then one reply per command).
// stdin: JSON commands, one a line: {cmd: 'report', phase, expected, timeoutMs} |
// {cmd: 'connect', address} | {cmd: 'stop'}.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { verify } from '../../dist/core/crypto/ed25519.js'
import { Libp2pNetwork } from '../../dist/core/network/libp2p-network.js'
import { Store } from '../../dist/core/store/store.js'

const [topic, protocol, signerHex] = [process.argv[2], process.argv[3], process.argv[4]]
const signer = signerHex ? Buffer.from(signerHex, 'hex') : undefined
const storeDir = signer ? mkdtempSync('/tmp/mero-bench-gossip-child-') : undefined
const store = storeDir ? await Store.open(`${storeDir}/data`) : undefined
let written = 0

/** The floor of receiving a delta: its signature checked and a batch written. */
function verifyAndStore(buf) {
  const body = buf.subarray(0, buf.length - 64)
  if (!verify(signer, body, buf.subarray(buf.length - 64))) throw new Error('gossip child: a signed message failed verification')
  const batch = store.batch()
  const key = Buffer.alloc(64)
  key.writeUInt32BE(written++ % 500, 0)
  for (let j = 0; j < 7; j++) {
    key[63] = j
    batch.put('state', key, body.subarray(0, 200))
  }
  batch.write()
}
const cleanUp = async () => {
  await store?.close()
  if (storeDir) rmSync(storeDir, { recursive: true, force: true })
}
const node = new Libp2pNetwork({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'] })
await node.start()
node.subscribe(topic)
// a request: one frame back on the stream it came on
await node.handle(protocol, async (ch) => {
  try {
    await ch.send(await ch.receive(30_000))
  } finally {
    ch.close()
  }
})
// the same echo on one long-lived stream (a conversation of frames)
await node.handle(`${protocol}/channel`, async (ch) => {
  for (;;) {
    let frame
    try {
      frame = await ch.receive(30_000)
    } catch {
      break
    }
    await ch.send(frame)
  }
  ch.close()
})

/** phase → { latenciesMs, count, firstNs, lastNs } */
const phases = new Map()
const waiters = new Set()
node.on('message', (m) => {
  const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)
  const phase = buf.readUInt8(12)
  if (signer && buf[13] === 1) verifyAndStore(buf)
  const now = process.hrtime.bigint()
  const sent = buf.readBigUInt64LE(0)
  let p = phases.get(phase)
  if (!p) phases.set(phase, (p = { latenciesMs: [], count: 0, firstNs: now, lastNs: now }))
  p.latenciesMs.push(Number(now - sent) / 1e6)
  p.count++
  p.lastNs = now
  for (const w of waiters) w()
})

const out = (o) => process.stdout.write(JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n')

async function report({ phase, expected, timeoutMs }) {
  const end = Date.now() + timeoutMs
  while ((phases.get(phase)?.count ?? 0) < expected && Date.now() < end) {
    await new Promise((resolve) => {
      const w = () => {
        waiters.delete(w)
        resolve()
      }
      waiters.add(w)
      setTimeout(w, 50)
    })
  }
  const p = phases.get(phase) ?? { latenciesMs: [], count: 0, firstNs: 0n, lastNs: 0n }
  out({ phase, ...p })
}

const lines = createInterface({ input: process.stdin })
lines.on('line', async (line) => {
  const cmd = JSON.parse(line)
  if (cmd.cmd === 'report') await report(cmd)
  else if (cmd.cmd === 'connect') {
    // another receiver: the children form a mesh among themselves, as a context's nodes do
    await node.connect(cmd.address).then(
      () => out({ connected: true }),
      (e) => out({ connected: false, error: e.message }),
    )
  } else if (cmd.cmd === 'stop') {
    await node.stop()
    await cleanUp()
    out({ stopped: true })
    process.exit(0)
  }
})
// never outlive the parent
lines.on('close', () => void node.stop().then(cleanUp).then(() => process.exit(0)))
setTimeout(() => process.exit(2), 5 * 60_000).unref()
out({ ready: true, peerId: node.peerId, address: `${node.listenAddresses()[0]}/p2p/${node.peerId}` })
