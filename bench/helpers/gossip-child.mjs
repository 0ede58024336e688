// Child process of the raw gossip benchmark: a bare NetworkNode that subscribes to a topic,
// answers an echo protocol, and records each message's one-way latency. A message's payload
// starts with [u64 LE send time in ns on the monotonic clock][u32 LE seq][u8 phase]; the
// monotonic clock (CLOCK_MONOTONIC) is shared by every process of the machine.
//
// stdout: one JSON line per event ({ready, peerId, address}, then one reply per command).
// stdin: JSON commands, one a line: {cmd: 'report', phase, expected, timeoutMs} | {cmd: 'stop'}.
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { NetworkNode } from '../../dist/core/network/network-node.js'

const [topic, protocol] = [process.argv[2], process.argv[3]]
const node = new NetworkNode({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'] })
await node.start()
node.subscribe(topic)
await node.handle(protocol, ({ frames }) => frames)
// the same echo on one long-lived stream (a conversation of frames)
await node.handleChannel(`${protocol}/channel`, async (ch) => {
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
  const now = process.hrtime.bigint()
  const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)
  const sent = buf.readBigUInt64LE(0)
  const phase = buf.readUInt8(12)
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
  else if (cmd.cmd === 'stop') {
    await node.stop()
    out({ stopped: true })
    process.exit(0)
  }
})
// never outlive the parent
lines.on('close', () => void node.stop().then(() => process.exit(0)))
setTimeout(() => process.exit(2), 5 * 60_000).unref()
out({ ready: true, peerId: node.peerId, address: `${node.listenAddresses()[0]}/p2p/${node.peerId}` })
