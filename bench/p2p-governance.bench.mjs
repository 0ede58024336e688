// Governance across daemons (issue 4): op propagation A→B with raw gossipsub latency between two
// processes measured in the same run, catch-up after missing 1,000 ops, and the time from
// `group join` to the new member being visible on all three nodes.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '../dist/core/crypto/ed25519.js'
import { Libp2pNetwork } from '../dist/core/network/libp2p-network.js'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { report, summarize } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-p2p-')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const daemons = []

async function rawGossip(count) {
  const child = spawn(process.execPath, [`${root}/bench/lib/gossip-peer.mjs`, 'bench', String(count)], { stdio: ['ignore', 'pipe', 'inherit'] })
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
    const msg = Buffer.alloc(200, i % 251)
    msg.writeBigUInt64LE(BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)), 0)
    await net.publish('bench', msg)
    await sleep(2)
  }
  const { latencies } = await done
  await net.stop()
  return summarize(latencies)
}

function merod(node, ...args) {
  return spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, '--node', node, ...args], { encoding: 'utf8' })
}

async function startDaemon(node) {
  const d = await startMerod(home, node)
  daemons.push(d)
  return d
}

async function stopDaemon(d) {
  await stopMerod(d)
  daemons.splice(daemons.indexOf(d), 1)
}

async function waitFor(check, ms) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await sleep(5)
  }
  throw new Error('timed out')
}

try {
  const raw = await rawGossip(1000)
  report('gossip.raw_one_way.p50', raw.p50, 'ms', { messages: 1000, processes: 2 })
  report('gossip.raw_one_way.p99', raw.p99, 'ms')

  for (const n of ['a', 'b', 'c']) {
    merod(n, 'init', '--listen', '/ip4/127.0.0.1/tcp/0')
    spawnSync('sed', ['-i', 's/group_heartbeat_secs = 10/group_heartbeat_secs = 1/', `${home}/${n}/config.toml`])
  }
  const [a, b, c] = [await startDaemon('a'), await startDaemon('b'), await startDaemon('c')]
  const { groupId } = await a.rpc.call('group.create', {})
  const identity = async (d) => (await d.rpc.call('node.status')).identity

  // join → the member visible on all three nodes
  const joins = []
  for (const d of [b, c]) {
    const who = await identity(d)
    const { token } = await a.rpc.call('group.createInvitation', { group: groupId, role: 'admin' })
    const t0 = performance.now()
    await d.rpc.call('group.join', { token })
    const everyone = [a, b, c].filter((x) => x === d || x === a || joins.length > 0)
    await waitFor(async () => (await Promise.all(everyone.map((x) => x.rpc.call('group.members', { group: groupId }).catch(() => ({ members: [] }))))).every((r) => r.members.some((m) => m.identity === who)), 10_000)
    joins.push(performance.now() - t0)
  }
  report('governance.join_to_visible_on_all', Math.max(...joins), 'ms', { joins: joins.map((j) => Number(j.toFixed(1))), target: '< 1000' })

  // op propagation A → B: A's applied event to B's applied event (sub-ms clocks, same machine)
  // Each node's op log records when it applied each op (µs resolution, one clock on this
  // machine): read both logs afterwards, so that no event stream loads the daemons meanwhile.
  await sleep(1500) // let the gossip mesh settle
  const ops = []
  for (let i = 0; i < 300; i++) {
    ops.push((await a.rpc.call('group.setAlias', { group: groupId, alias: `p${i}` })).opId)
    await sleep(3)
  }
  const appliedAt = async (d) => new Map((await d.rpc.call('group.ops', { group: groupId })).ops.map((o) => [o.opId, o.appliedAt]))
  await waitFor(async () => {
    const onB = await appliedAt(b)
    return ops.every((id) => onB.has(id))
  }, 10_000)
  const [atA, atB] = [await appliedAt(a), await appliedAt(b)]
  const lat = ops.map((id) => atB.get(id) - atA.get(id))
  const prop = summarize(lat)
  report('governance.op_propagation.p50', prop.p50, 'ms', { ops: ops.length })
  report('governance.op_propagation.p99', prop.p99, 'ms')
  report('governance.op_propagation.ratio_to_raw_gossip_p50', prop.p50 / raw.p50, 'x', { target: '<= 1.5' })

  // catch-up after missing 1,000 ops
  await stopDaemon(c)
  for (let i = 0; i < 1000; i++) await a.rpc.call('group.setAlias', { group: groupId, alias: `q${i}` })
  const target = (await a.rpc.call('group.get', { group: groupId })).stateHash
  const t1 = performance.now()
  const c2 = await startDaemon('c')
  const ready = performance.now()
  await waitFor(async () => (await c2.rpc.call('group.get', { group: groupId })).stateHash === target, 20_000)
  const done = performance.now()
  report('governance.catch_up_1000_ops', done - ready, 'ms', { from: 'daemon ready', target: '< 1000' })
  report('governance.restart_and_catch_up_1000_ops', done - t1, 'ms', { from: 'spawn' })
} finally {
  for (const d of [...daemons]) await stopDaemon(d).catch(() => d.child.kill('SIGKILL'))
  rmSync(home, { recursive: true, force: true })
}
