// Context replication across real daemons (issue 6):
// - delta propagation latency, author's commit → receiver's apply (event timestamps: one clock
//   anchored on the shared monotonic clock in every daemon), with 2 and with 3 nodes, after a
//   warm-up, at the pace of the raw gossipsub baseline measured in the same run; and the ratio;
// - catch-up of a node that missed 1,000 deltas, and 10,000 deltas (from the daemon being ready
//   to the same root hash);
// - sustained replicated writes: all three nodes write at once; deltas/s until all converged.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { measureRawGossip } from './helpers/raw-gossip.mjs'
import { report, summarize } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-ctx-')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const daemons = new Map()
const GAP_MS = 3

async function waitFor(check, ms, what) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await sleep(5)
  }
  throw new Error(`timed out: ${what}`)
}

const start = async (n) => {
  const d = await startMerod(home, n)
  daemons.set(n, d)
  return d
}
const stop = async (n) => {
  await stopMerod(daemons.get(n))
  daemons.delete(n)
}

/** Collects the µs-resolution timestamps of an event type per delta id on a node. */
function watch(d, contextId, type) {
  const at = new Map()
  const ctl = new AbortController()
  let open
  const opened = new Promise((r) => (open = r))
  void d.rpc.events({ context: contextId, types: [type] }, (e) => at.set(e.deltaId, e.ts), ctl.signal, open).catch(() => {})
  return { at, opened, close: () => ctl.abort() }
}

async function propagation(author, receivers, contextId, count) {
  for (let i = 0; i < 200; i++) {
    await author.rpc.call('context.execute', { context: contextId, method: 'set', args: { key: `warm-${i % 100}`, value: `${i}` } })
    await sleep(GAP_MS)
  }
  const sent = watch(author, contextId, 'context.state.mutated')
  const got = receivers.map((r) => watch(r, contextId, 'context.delta.applied'))
  await Promise.all([sent.opened, ...got.map((g) => g.opened)])
  const ids = []
  for (let i = 0; i < count; i++) {
    ids.push((await author.rpc.call('context.execute', { context: contextId, method: 'set', args: { key: `lat-${i % 100}`, value: `${i}` } })).deltaId)
    await sleep(GAP_MS)
  }
  await waitFor(() => got.every((g) => ids.every((id) => g.at.has(id))), 20_000, 'propagation')
  const lat = got.flatMap((g) => ids.map((id) => g.at.get(id) - sent.at.get(id)))
  for (const w of [sent, ...got]) w.close()
  return summarize(lat)
}

const root_ = async (n, contextId) => (await daemons.get(n).rpc.call('context.get', { context: contextId })).rootHash

async function writes(n, contextId, count, inFlight, prefix) {
  const d = daemons.get(n)
  let next = 0
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++
        await d.rpc.call('context.execute', { context: contextId, method: 'set', args: { key: `${prefix}-${i % 2000}`, value: `${n}${i}` } })
      }
    }),
  )
}

async function catchUp(n, contextId, count, label) {
  await stop(n)
  await writes('a', contextId, count, 16, `${label}`)
  const target = await root_('a', contextId)
  await start(n)
  const t0 = performance.now()
  await waitFor(async () => (await root_(n, contextId)) === target, 60_000, `catch-up of ${count}`)
  return performance.now() - t0
}

try {
  // the baseline: same payload order of size, the same pacing as the deltas below, warmed up
  const raw = (await measureRawGossip({ count: 1000, intervalMs: GAP_MS, size: 400, burst: 0, rttSamples: 0, warmup: 200 })).latencyMs
  report('gossip.raw_one_way.p50', raw.p50, 'ms', { messages: 1000, processes: 2, gap_ms: GAP_MS })
  report('gossip.raw_one_way.p99', raw.p99, 'ms')

  for (const n of ['a', 'b', 'c']) {
    spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, '--node', n, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
    spawnSync('sed', ['-i', 's/group_heartbeat_secs = 10/group_heartbeat_secs = 1/; s/context_heartbeat_secs = 10/context_heartbeat_secs = 1/', `${home}/${n}/config.toml`])
    await start(n)
  }
  const [a, b, c] = ['a', 'b', 'c'].map((n) => daemons.get(n))
  const { groupId } = await a.rpc.call('group.create', {})
  for (const d of [b, c]) {
    const { token } = await a.rpc.call('group.createInvitation', { group: groupId, role: 'admin' })
    await d.rpc.call('group.join', { token })
  }
  const wasm = `${root}/apps/kv-store/build/kv-store.wasm`
  let applicationId
  for (const n of ['a', 'b', 'c']) {
    const r = spawnSync(process.execPath, [`${root}/bin/run.js`, 'app', 'install', wasm, '--home', home, '--node', n, '--json'], { encoding: 'utf8' })
    applicationId = JSON.parse(r.stdout).applicationId
  }
  const { contextId } = await a.rpc.call('context.create', { group: groupId, application: applicationId })
  await waitFor(async () => (await b.rpc.call('group.get', { group: groupId })).contexts.some((x) => x.contextId === contextId), 5_000, 'context visible on b')
  await b.rpc.call('context.join', { context: contextId })
  await sleep(1500) // let the mesh settle

  const two = await propagation(a, [b], contextId, 300)
  report('context.delta_propagation.2_nodes.p50', two.p50, 'ms', { deltas: 300 })
  report('context.delta_propagation.2_nodes.p99', two.p99, 'ms')
  report('context.delta_propagation.2_nodes.ratio_to_raw_gossip_p50', two.p50 / raw.p50, 'x', { target: '<= 1.5' })

  await waitFor(async () => (await c.rpc.call('group.get', { group: groupId })).contexts.some((x) => x.contextId === contextId), 5_000, 'context visible on c')
  await c.rpc.call('context.join', { context: contextId })
  await sleep(1500)
  const three = await propagation(a, [b, c], contextId, 300)
  report('context.delta_propagation.3_nodes.p50', three.p50, 'ms', { deltas: 300, receivers: 2 })
  report('context.delta_propagation.3_nodes.p99', three.p99, 'ms')
  report('context.delta_propagation.3_nodes.ratio_to_raw_gossip_p50', three.p50 / raw.p50, 'x', { target: '<= 1.5' })

  report('context.catch_up_1000_deltas', await catchUp('c', contextId, 1000, 'k1'), 'ms', { from: 'daemon ready', target: '<= 500' })
  report('context.catch_up_10000_deltas', await catchUp('c', contextId, 10_000, 'k10'), 'ms', { from: 'daemon ready', target: '< 3000' })

  // sustained: 3 nodes × 2,000 writes at once (8 in flight each), until all three converge
  const per = 2000
  const t0 = performance.now()
  await Promise.all(['a', 'b', 'c'].map((n) => writes(n, contextId, per, 8, `s-${n}`)))
  const written = performance.now() - t0
  await waitFor(async () => new Set(await Promise.all(['a', 'b', 'c'].map((n) => root_(n, contextId)))).size === 1, 60_000, 'sustained convergence')
  const total = performance.now() - t0
  report('context.sustained_replicated_writes', (3 * per) / (total / 1000), 'deltas/s', { nodes: 3, deltas: 3 * per, writeMs: Math.round(written), convergedMs: Math.round(total), target: '>= 1000' })
} finally {
  for (const n of [...daemons.keys()]) await stop(n).catch(() => {})
  rmSync(home, { recursive: true, force: true })
}
