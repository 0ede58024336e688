// Issue 20, many nodes: twelve real daemons, each in its own network namespace on one private
// switch (bench/lib/netlab.mjs; needs root), share one group and one kv-store context.
// - delta propagation: the author's commit → the last of the 11 receivers applying it (event
//   timestamps), p50 and p99, 40 deltas one every 100 ms;
// - op propagation: the author's applied time → the last of the 11 (each op log's appliedAt),
//   p50 and p99, 40 alias changes one every 100 ms;
// - gossip amplification: context gossip messages each node received per delta, copies included
//   (merod_gossip_messages_in_total + merod_gossip_duplicates_in_total, mero/ctx family);
// - heal-to-converged after a 6/6 partition in which both sides wrote (heartbeats every second);
// - idle resident memory per node (after the set-up, 5 s quiet), and spawn to ready;
// - `group join` through a relay: a node that listens nowhere, with a slot on a relay node,
//   joins by token; token → the member visible on all twelve.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { BenchLab } from './lib/netlab.mjs'
import { median, report, summarize } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-many-')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const NODES = Array.from({ length: 12 }, (_, i) => `n${i + 1}`)
const daemons = new Map()
let lab

async function waitFor(check, ms, what) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await sleep(20)
  }
  throw new Error(`timed out: ${what}`)
}

const merod = (...args) => {
  const r = spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`merod ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const meroctl = (...args) => {
  const r = spawnSync(process.execPath, [`${root}/bin/run.js`, ...args, '--home', home, '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
  if (r.status !== 0) throw new Error(`meroctl ${args.join(' ')}: ${r.stdout}${r.stderr}`)
  return JSON.parse(r.stdout)
}
const editConfig = (n, edit) => writeFileSync(`${home}/${n}/config.toml`, edit(readFileSync(`${home}/${n}/config.toml`, 'utf8')))
const fast = (c) => c.replace(/group_heartbeat_secs = \d+/, 'group_heartbeat_secs = 1').replace(/context_heartbeat_secs = \d+/, 'context_heartbeat_secs = 1')
const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024

async function start(n) {
  const d = await startMerod(home, n, process.env, lab.wrap(n))
  daemons.set(n, d)
  return d
}
const rpc = (n) => daemons.get(n).rpc

/** Per event type, per key (delta or op id), the µs timestamp of the event on a node. */
function watch(n, query, key) {
  const at = new Map()
  const ctl = new AbortController()
  let open
  const opened = new Promise((r) => (open = r))
  void rpc(n).events(query, (e) => at.set(e[key], e.ts), ctl.signal, open).catch(() => {})
  return { at, opened, close: () => ctl.abort() }
}

async function gossipCounts(n) {
  const text = await rpc(n).get('/metrics')
  const read = (name) => Number(new RegExp(`^merod_${name}\\{topic="mero/ctx"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
  return { delivered: read('gossip_messages_in_total'), duplicates: read('gossip_duplicates_in_total') }
}

const rootHashes = (contextId, nodes) => Promise.all(nodes.map((n) => rpc(n).call('context.get', { context: contextId }).then((m) => m.rootHash, () => `? ${n}`)))
const converged = async (contextId, nodes) => new Set(await rootHashes(contextId, nodes)).size === 1

try {
  lab = new BenchLab()
  for (const n of [...NODES, 'relay', 'hidden']) lab.add(n)
  for (const n of NODES) {
    merod('--node', n, 'init', '--listen', `/ip4/${lab.nodes.get(n).address}/tcp/0`)
    editConfig(n, fast)
  }
  merod('--node', 'relay', 'init', '--listen', `/ip4/${lab.nodes.get('relay').address}/tcp/0`)
  editConfig('relay', (c) => c.replace('serve = false', 'serve = true'))

  const ready = []
  for (const n of [...NODES, 'relay']) ready.push((await start(n)).readyMs)
  report('many_nodes.spawn_to_ready.p50', median(ready), 'ms', { nodes: ready.length, max: Math.max(...ready) })

  // one group and one context on all twelve
  const { groupId } = await rpc('n1').call('group.create', {})
  const { applicationId } = meroctl('app', 'install', `${root}/apps/kv-store/build/kv-store.wasm`, '--node', 'n1')
  const { contextId } = meroctl('context', 'create', '--group', groupId, '--app', applicationId, '--node', 'n1')
  for (const n of NODES.slice(1)) {
    const { token } = await rpc('n1').call('group.createInvitation', { group: groupId, role: 'admin' })
    await rpc(n).call('group.join', { token })
    await waitFor(async () => (await rpc(n).call('group.get', { group: groupId })).contexts.some((c) => c.contextId === contextId), 30_000, `${n} sees the context`)
    meroctl('context', 'join', contextId, '--node', n)
  }
  const set = (n, key, value) => rpc(n).call('context.execute', { context: contextId, method: 'set', args: { key, value } })
  await set('n1', 'warm', '0')
  await waitFor(() => converged(contextId, NODES), 60_000, 'first write everywhere')

  await sleep(5_000)
  const rss = await Promise.all(NODES.map(async (n) => rssOf((await rpc(n).call('node.status')).pid)))
  report('many_nodes.idle_rss.max', Math.max(...rss) / 1e6, 'MB', { median: Number((median(rss) / 1e6).toFixed(1)), nodes: 12, target: '<= 150' })

  // delta propagation to the last receiver, and what gossip cost per delta
  const receivers = NODES.slice(1)
  const before = await Promise.all(receivers.map(gossipCounts))
  const sent = watch('n1', { context: contextId, types: ['context.state.mutated'] }, 'deltaId')
  const got = receivers.map((n) => watch(n, { context: contextId, types: ['context.delta.applied'] }, 'deltaId'))
  await Promise.all([sent.opened, ...got.map((g) => g.opened)])
  const DELTAS = 40
  const ids = []
  const burstStarted = performance.now()
  for (let i = 0; i < DELTAS; i++) {
    ids.push((await set('n1', `p-${i}`, `${i}`)).deltaId)
    await sleep(100)
  }
  await waitFor(() => ids.every((id) => got.every((g) => g.at.has(id))), 30_000, 'every delta on every receiver')
  const burstMs = performance.now() - burstStarted
  // event timestamps are ms (µs resolution)
  const deltaLat = ids.map((id) => Math.max(...got.map((g) => g.at.get(id))) - sent.at.get(id))
  for (const w of [sent, ...got]) w.close()
  const after = await Promise.all(receivers.map(gossipCounts))
  // heartbeats are gossip on the same topic: an idle window as long as the burst counts them, and
  // is taken off
  await sleep(burstMs)
  const idle = await Promise.all(receivers.map(gossipCounts))
  const received = (a, b) => a.delivered - b.delivered + a.duplicates - b.duplicates
  const perDelta = receivers.map((_, i) => (received(after[i], before[i]) - received(idle[i], after[i])) / DELTAS)
  const dupPerDelta = receivers.map((_, i) => (after[i].duplicates - before[i].duplicates - (idle[i].duplicates - after[i].duplicates)) / DELTAS)
  const d = summarize(deltaLat)
  report('many_nodes.delta_to_last_of_11.p50', d.p50, 'ms', { deltas: DELTAS, gap_ms: 100 })
  report('many_nodes.delta_to_last_of_11.p99', d.p99, 'ms')
  report('many_nodes.gossip_received_per_delta_per_node', median(perDelta), 'messages', { duplicates_per_delta: Number(median(dupPerDelta).toFixed(2)), max: Number(Math.max(...perDelta).toFixed(2)), heartbeats: 'taken off (an idle window as long as the burst)' })

  // op propagation to the last receiver
  const opIds = []
  for (let i = 0; i < 40; i++) {
    opIds.push((await rpc('n1').call('group.setAlias', { group: groupId, alias: `a${i}` })).opId)
    await sleep(100)
  }
  const appliedAt = async (n) => new Map((await rpc(n).call('group.ops', { group: groupId })).ops.map((o) => [o.opId, o.appliedAt]))
  let logs
  await waitFor(async () => {
    logs = await Promise.all(receivers.map(appliedAt))
    return opIds.every((id) => logs.every((l) => l.has(id)))
  }, 30_000, 'every op on every receiver')
  const own = await appliedAt('n1')
  const o = summarize(opIds.map((id) => Math.max(...logs.map((l) => l.get(id))) - own.get(id)))
  report('many_nodes.op_to_last_of_11.p50', o.p50, 'ms', { ops: opIds.length, gap_ms: 100 })
  report('many_nodes.op_to_last_of_11.p99', o.p99, 'ms')

  // a 6/6 partition, both sides write, then healed
  const [left, right] = [NODES.slice(0, 6), NODES.slice(6)]
  lab.partition(left, right)
  for (let i = 0; i < 10; i++) await Promise.all([set('n2', `l-${i}`, 'l'), set('n8', `r-${i}`, 'r')])
  await waitFor(() => converged(contextId, left), 30_000, 'left side converged')
  await waitFor(() => converged(contextId, right), 30_000, 'right side converged')
  lab.heal()
  const healed = performance.now()
  await waitFor(() => converged(contextId, NODES), 60_000, 'converged after the heal')
  report('many_nodes.heal_to_converged', performance.now() - healed, 'ms', { partition: '6/6', heartbeat_ms: 1000, target: '<= 2000' })

  // group join through a relay: token → visible on all twelve
  const relay = await rpc('relay').call('node.status')
  const relayAddress = `${relay.listenAddresses[0]}/p2p/${relay.peerId}`
  merod('--node', 'hidden', 'init', '--listen', `/ip4/${lab.nodes.get('hidden').address}/tcp/0`)
  editConfig('hidden', (c) => fast(c).replace(/^listen = .*$/m, 'listen = []').replace(/^relays = \[\]$/m, `relays = ["${relayAddress}"]`))
  // the twelve reach the relay too: n1 reserves there and is reached through it as well
  await start('hidden')
  await waitFor(async () => (await rpc('hidden').call('node.status')).network.relay.reservations.length === 1, 30_000, 'the hidden node holds a reservation')
  const who = (await rpc('hidden').call('node.status')).identity
  const { token } = await rpc('n1').call('group.createInvitation', { group: groupId, role: 'member' })
  const t0 = performance.now()
  await rpc('hidden').call('group.join', { token })
  await waitFor(async () => (await Promise.all(NODES.map((n) => rpc(n).call('group.members', { group: groupId })))).every((r) => r.members.some((m) => m.identity === who)), 30_000, 'the relayed member visible on all')
  const peers = await rpc('hidden').call('peers.list')
  report('many_nodes.join_through_relay_to_visible_on_all', performance.now() - t0, 'ms', { joiner: 'listens nowhere', connections: peers.peers.map((p) => p.via) })
  for (const n of [...daemons.keys()]) await stopMerod(daemons.get(n))
  daemons.clear()
} finally {
  for (const d of daemons.values()) d.child.kill('SIGKILL')
  await sleep(200)
  lab?.destroy()
  rmSync(home, { recursive: true, force: true })
}
