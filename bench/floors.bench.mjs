// Floors: what the parts a figure cannot do without cost on this machine, with none of mero's own
// logic, next to the figures the issues set targets for.
// - A call that commits (target of `context.call_set.throughput_16_in_flight`: 3,000/s): an HTTP
//   JSON-RPC server on a Unix socket answering our RpcClient with 16 calls in flight, first with
//   nothing behind the HTTP (`http`), then with a fresh instance of the instrumented kv-store, an
//   Ed25519 signature and one RocksDB batch per call (`call`), then with kv-store's `set` run in
//   that instance by mero's runtime over an in-memory map (`exec`: the app runs, but there is no
//   CRDT state, hash or delta), and that without the signature and the write (`run`: what no
//   batching of commits can save; helpers/call-floor-server.mjs). Median of 5 rounds, with the
//   server's and the client's CPU time per call.
// - A delta's propagation (target of `context.delta_propagation.*.ratio_to_raw_gossip_p50`: 1.5):
//   raw gossip of 400 bytes, in blocks alternating with blocks signed by the publisher and
//   verified and written to RocksDB by the receiver before it takes the time; at 3 and 7 ms
//   between messages (the replication bench's blocks run at 7-8 ms between deltas).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { MEROD_NODE_FLAGS } from '../dist/client/daemon-manager.js'
import { RpcClient } from '../dist/client/rpc-client.js'
import { endChild } from './lib/child.mjs'
import { processCpuMs } from './lib/cpu.mjs'
import { alternateWithRaw, openRawGossip } from './helpers/raw-gossip.mjs'
import { median, report } from './lib/stats.mjs'

const SERVER = fileURLToPath(new URL('./helpers/call-floor-server.mjs', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-floor-')

async function callFloor(mode) {
  const socket = `${home}/${mode}.sock`
  // with the V8 flags merod runs with
  const child = spawn(process.execPath, [...MEROD_NODE_FLAGS, SERVER, socket, `${home}/${mode}-data`, mode], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise((r) => child.once('exit', r))
  const rpc = new RpcClient(socket, { timeoutMs: 30_000 })
  try {
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the call floor server did not start')), 30_000)
      createInterface({ input: child.stdout }).once('line', () => resolve(clearTimeout(t)))
      child.once('exit', (code) => reject(new Error(`the call floor server exited (${code})`)))
    })
    const set = (i) => rpc.call('context.execute', { context: 'floor', method: 'set', args: { key: `k${i % 500}`, value: `v${i}` } })
    for (let i = 0; i < 2000; i++) await set(i) // warm-up, as in context-call.bench.mjs
    const rounds = []
    // five rounds, as context-call.bench.mjs takes for the figure this is the floor of
    for (let r = 0; r < 5; r++) {
      const total = 3000
      let next = 0
      const server0 = processCpuMs(child.pid)
      const client0 = process.cpuUsage()
      const t0 = performance.now()
      await Promise.all(Array.from({ length: 16 }, async () => { while (next < total) await set(next++) }))
      const seconds = (performance.now() - t0) / 1000
      const client = process.cpuUsage(client0)
      rounds.push({ rate: total / seconds, serverUs: ((processCpuMs(child.pid) - server0) * 1000) / total, clientUs: (client.user + client.system) / total })
    }
    rounds.sort((a, b) => a.rate - b.rate)
    const m = rounds[2]
    report(`floor.call.${mode}.throughput_16_in_flight`, m.rate, 'calls/s', { rounds: rounds.map((x) => Math.round(x.rate)), server_cpu_us_per_call: Math.round(m.serverUs), client_cpu_us_per_call: Math.round(m.clientUs) })
  } finally {
    rpc.close()
    await endChild(child, exited)
  }
}

let raw
try {
  for (const mode of ['http', 'call', 'exec', 'run']) await callFloor(mode)

  raw = await openRawGossip({ size: 400, signed: true })
  await raw.paced({ count: 200, intervalMs: 3 })
  await raw.paced({ count: 200, intervalMs: 3, signed: true })
  for (const gap of [3, 7]) {
    const signed = []
    const { raw: rawFigures } = await alternateWithRaw(raw, { rounds: 10, messages: 60, pauseMs: gap }, async () => {
      const block = await raw.paced({ count: 60, intervalMs: gap, signed: true })
      signed.push(...block.latenciesMs)
      return block.gapMs
    })
    const p50 = median(signed)
    report(`floor.propagation.gap_${gap}ms.signed_verified_written.p50`, p50, 'ms', { messages: signed.length, bytes: 400, raw_p50: Number(rawFigures.p50.toFixed(4)) })
    report(`floor.propagation.gap_${gap}ms.ratio_to_raw_gossip_p50`, p50 / rawFigures.p50, 'x', { compare: 'context.delta_propagation.*.ratio_to_raw_gossip_p50 (target <= 1.5)' })
  }
} finally {
  await raw?.close().catch(() => undefined)
  rmSync(home, { recursive: true, force: true })
}
