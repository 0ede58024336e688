// Raw gossipsub between libp2p nodes in separate processes on loopback (this process publishes,
// one or more child processes receive), with mero's own Libp2pNetwork and gossip settings. Later benchmarks
// (group op propagation, delta propagation) call measureRawGossip() in the same run and report
// their latency as a ratio to it.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, sign } from '../../dist/core/crypto/ed25519.js'
import { Libp2pNetwork } from '../../dist/core/network/libp2p-network.js'
import { endChild } from '../lib/child.mjs'
import { summarize } from '../lib/stats.mjs'

const CHILD = fileURLToPath(new URL('./gossip-child.mjs', import.meta.url))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const PHASE = { warmup: 0, paced: 1, burst: 2 }

/** The figures every bench uses (lib/stats.mjs: p50 is the true median), with the count. */
function stats(values) {
  return { ...summarize(values), count: values.length }
}

/** [u64 LE send time][u32 LE seq][u8 phase][u8 signed] and filler; signed: the last 64 bytes are a signature of the rest. */
function payload(size, seq, phase, signer) {
  const buf = Buffer.alloc(Math.max(signer ? 14 + 64 : 14, size))
  buf.writeUInt32LE(seq, 8)
  buf.writeUInt8(phase, 12)
  buf.writeUInt8(signer ? 1 : 0, 13)
  buf.fill(seq % 251, 14)
  // the time last, just before signing (the author's commit) and publishing
  buf.writeBigUInt64LE(process.hrtime.bigint(), 0)
  if (signer) sign(signer.privateKey, buf.subarray(0, buf.length - 64)).copy(buf, buf.length - 64)
  return buf
}

/** A gossip child process: its JSON lines as a queue (`next`), and its commands (`send`). */
function spawnChild(args) {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const queue = []
  const waiting = []
  lines.on('line', (l) => {
    const v = JSON.parse(l)
    const w = waiting.shift()
    if (w) w(v)
    else queue.push(v)
  })
  const exited = new Promise((r) => child.once('exit', r))
  const next = (ms = 60_000) =>
    new Promise((resolve, reject) => {
      if (queue.length) return resolve(queue.shift())
      const t = setTimeout(() => reject(new Error('the gossip child did not answer in time')), ms)
      waiting.push((v) => {
        clearTimeout(t)
        resolve(v)
      })
    })
  const send = (cmd) => child.stdin.write(JSON.stringify(cmd) + '\n')
  const close = async () => {
    send({ cmd: 'stop' })
    await next(10_000).catch(() => undefined)
    await endChild(child, exited)
  }
  return { next, send, close }
}

/**
 * Raw gossip peers kept open: this process publishes, `receivers` child processes receive (all
 * connected to each other too, like the nodes of a context: with two, each also gets every
 * message forwarded by the other). `paced()` measures one block of paced messages, as often as a
 * benchmark likes, so that its blocks can alternate with blocks of the path it compares (the
 * same machine state for both; a VM's speed drifts between seconds apart).
 *
 * With `signed`, `paced({signed: true})` blocks carry an Ed25519 signature made just before
 * publishing, which the child verifies before writing a RocksDB batch and taking the time: the
 * floor under a delta's propagation, whatever the rest of the path costs.
 * @param {object} [o]
 * @param {number} [o.size=200]  payload bytes
 * @param {boolean} [o.signed=false]
 * @param {number} [o.receivers=1]  receiving processes
 */
export async function openRawGossip({ size = 200, signed = false, receivers = 1 } = {}) {
  const topic = `bench/raw/${randomBytes(4).toString('hex')}`
  const protocol = '/mero/bench/echo/1.0.0'
  const signer = signed ? generateKeyPair() : undefined
  const args = [CHILD, topic, protocol, ...(signer ? [Buffer.from(signer.publicKey).toString('hex')] : [])]
  const children = Array.from({ length: receivers }, () => spawnChild(args))
  const node = new Libp2pNetwork({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'] })
  const close = async () => {
    await Promise.all(children.map((c) => c.close()))
    await node.stop()
  }
  const peerIds = []
  try {
    const ready = await Promise.all(children.map((c) => c.next(30_000)))
    await node.start()
    node.subscribe(topic)
    for (const r of ready) {
      peerIds.push(r.peerId)
      await node.connect(r.address)
    }
    for (let i = 1; i < children.length; i++) {
      for (let j = 0; j < i; j++) {
        children[i].send({ cmd: 'connect', address: ready[j].address })
        if (!(await children[i].next(30_000)).connected) throw new Error('a gossip child could not connect to another')
      }
    }
    for (let i = 0; i < 400 && !peerIds.every((p) => node.topicPeers(topic).includes(p)); i++) await sleep(10)
    if (!peerIds.every((p) => node.topicPeers(topic).includes(p))) throw new Error('a child never appeared on the topic')
    if (children.length > 1) await sleep(1500) // let the children's mesh settle, as the nodes' does
  } catch (e) {
    await close()
    throw e
  }
  let nextPhase = 16
  return {
    node,
    peerId: peerIds[0],
    protocol,
    topic,
    send: children[0].send,
    next: children[0].next,
    close,
    /**
     * One block of `count` messages `intervalMs` apart: their one-way latencies (every
     * receiver's), losses and actual spacing.
     */
    async paced({ count, intervalMs, phase = nextPhase++, signed: signedBlock = false }) {
      if (signedBlock && !signer) throw new Error('paced({signed}) needs openRawGossip({signed: true})')
      for (let i = 0; i < count; i++) {
        await node.publish(topic, payload(size, i, phase, signedBlock ? signer : undefined))
        if (intervalMs > 0) await sleep(intervalMs)
      }
      for (const c of children) c.send({ cmd: 'report', phase, expected: count, timeoutMs: 10_000 })
      const reports = await Promise.all(children.map((c) => c.next()))
      const r = reports[0]
      return {
        latenciesMs: reports.flatMap((x) => x.latenciesMs),
        lost: count * reports.length - reports.reduce((n, x) => n + x.count, 0),
        // the actual mean time between paced messages (as received), for comparisons at equal rates
        gapMs: r.count > 1 ? Number(BigInt(r.lastNs) - BigInt(r.firstNs)) / 1e6 / (r.count - 1) : NaN,
      }
    },
  }
}

/**
 * Alternates `rounds` blocks of raw messages with blocks of the path a benchmark compares to
 * them, so that both see the same machine (this VM's speed drifts by up to 2× between seconds
 * apart). An idle process answers more slowly, so both must wait equally long between
 * messages: each raw block is paced to the spacing the path's block before it achieved.
 * `block(round)` runs one block of the path and resolves with its mean spacing in ms.
 * @returns {Promise<{raw: {p50, p99, min, max, count, gapMs}, lost: number, gapMs: number}>} the
 *   raw latencies and mean spacing, and the path blocks' mean spacing
 */
export async function alternateWithRaw(raw, { rounds, messages = 100, pauseMs }, block) {
  const latencies = []
  const rawGaps = []
  const gaps = []
  let lost = 0
  let pause = pauseMs
  for (let r = 0; r < rounds; r++) {
    const paced = await raw.paced({ count: messages, intervalMs: pause })
    latencies.push(...paced.latenciesMs)
    rawGaps.push(paced.gapMs)
    lost += paced.lost
    const gap = await block(r)
    gaps.push(gap)
    pause = Math.min(20, Math.max(0.5, pause + gap - paced.gapMs))
  }
  const mean = (v) => Number((v.reduce((x, y) => x + y, 0) / v.length).toFixed(2))
  return { raw: { ...stats(latencies), gapMs: mean(rawGaps) }, lost, gapMs: mean(gaps) }
}

/**
 * @param {object} [o]
 * @param {number} [o.count=2000]    paced messages for the latency figures
 * @param {number} [o.warmup=100]    paced messages before them, not measured (JIT, stream set-up)
 * @param {number} [o.intervalMs=1]  pause between paced messages
 * @param {number} [o.size=200]      payload bytes
 * @param {number} [o.burst=5000]    messages published back to back for the throughput figure (0: none)
 * @param {number} [o.rttSamples=500] sequential request/response round trips (0: none)
 * @returns {Promise<{latencyMs, lost, gapMs, throughput: {msgPerSec, count, lost}, requestRttMs, channelRttMs}>}
 *   latencies as {p50, p99, min, max, count} in ms; requestRttMs opens a stream per request
 *   (sent with the protocol proposal), channelRttMs echoes frames on one long-lived stream
 */
export async function measureRawGossip({ count = 2000, intervalMs = 1, size = 200, burst = 5000, rttSamples = 500, warmup = 100 } = {}) {
  const raw = await openRawGossip({ size })
  const { node, peerId, protocol, topic, send, next } = raw
  try {
    // warm-up: JIT, stream set-up
    await raw.paced({ count: warmup, intervalMs, phase: PHASE.warmup })
    const paced = await raw.paced({ count, intervalMs, phase: PHASE.paced })

    // the throughput and round-trip phases are skipped when their count is 0
    let b = { count: 0, lastNs: '0' }
    const t0 = process.hrtime.bigint()
    if (burst > 0) {
      for (let i = 0; i < burst; i++) await node.publish(topic, payload(size, i, PHASE.burst))
      send({ cmd: 'report', phase: PHASE.burst, expected: burst, timeoutMs: 20_000 })
      b = await next()
    }
    const seconds = burst > 0 ? Number(BigInt(b.lastNs) - t0) / 1e9 : NaN

    const rtts = []
    const frame = new Uint8Array(32)
    for (let i = 0; i < rttSamples; i++) {
      const s = process.hrtime.bigint()
      // a new stream per request, the request sent with the protocol proposal
      const req = await node.open(peerId, protocol, [], { optimistic: true })
      await req.send(frame)
      await req.receive(5_000)
      req.close()
      rtts.push(Number(process.hrtime.bigint() - s) / 1e6)
    }

    const channelRtts = []
    if (rttSamples > 0) {
      const ch = await node.open(peerId, `${protocol}/channel`)
      for (let i = 0; i < rttSamples; i++) {
        const s = process.hrtime.bigint()
        await ch.send(frame)
        await ch.receive(5_000)
        channelRtts.push(Number(process.hrtime.bigint() - s) / 1e6)
      }
      ch.close()
    }

    return {
      latencyMs: stats(paced.latenciesMs),
      lost: paced.lost,
      gapMs: paced.gapMs,
      throughput: { msgPerSec: b.count / seconds, count: b.count, lost: burst - b.count },
      requestRttMs: stats(rtts),
      channelRttMs: stats(channelRtts),
    }
  } finally {
    await raw.close()
  }
}
