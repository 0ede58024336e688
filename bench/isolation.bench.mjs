// Isolation of applications (issue 17 item 4): how long the node takes to answer while runaway
// methods run. Four calls of a method that never returns (edge-cases' `spin`, on four contexts)
// are sent together; while they run, `node.status` and a kv-store `get` on another context are
// called one after the other, and their latencies are reported (p50, p99, max) with how many
// answered while all four runaways were still in flight. The node runs its default
// config: the runaways end at their instruction budget (or their deadline). Every call started while
// a runaway was in flight is counted.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { report, summarize } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-iso-')
spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
const daemon = await startMerod(home)
const { rpc } = daemon
const install = (file) => JSON.parse(spawnSync(process.execPath, [`${root}/bin/run.js`, 'app', 'install', file, '--home', home, '--json'], { encoding: 'utf8' }).stdout).applicationId
try {
  const spinApp = install(`${root}/test/fixtures/wasm/build/edge-cases.wasm`)
  const kvApp = install(`${root}/apps/kv-store/build/kv-store.wasm`)
  const { groupId } = await rpc.call('group.create', {})
  const spinners = []
  for (let i = 0; i < 4; i++) spinners.push((await rpc.call('context.create', { group: groupId, application: spinApp })).contextId)
  const { contextId: kv } = await rpc.call('context.create', { group: groupId, application: kvApp })
  for (let i = 0; i < 100; i++) await rpc.call('context.execute', { context: kv, method: 'set', args: { key: `k${i}`, value: `v${i}` } })
  // warm both paths
  for (let i = 0; i < 50; i++) {
    await rpc.call('node.status')
    await rpc.call('context.execute', { context: kv, method: 'get', args: { key: 'k1' } })
  }

  let running = spinners.length
  const t0 = performance.now()
  const runaways = spinners.map((c) =>
    rpc.call('context.execute', { context: c, method: 'spin', args: {} }).then(
      () => running--,
      (e) => {
        running--
        return e.kind ?? e.message
      },
    ),
  )
  // every call started while a runaway was still in flight counts; `whileAll`: answered while all four were
  const status = []
  const get = []
  let whileAll = 0
  while (running > 0) {
    let t = performance.now()
    await rpc.call('node.status')
    status.push(performance.now() - t)
    if (running === spinners.length) whileAll++
    if (running === 0) break
    t = performance.now()
    await rpc.call('context.execute', { context: kv, method: 'get', args: { key: 'k1' } })
    get.push(performance.now() - t)
  }
  const outcomes = await Promise.all(runaways)
  const runawayMs = performance.now() - t0
  const s = summarize(status)
  const g = summarize(get)
  report('isolation.node_status_during_4_runaways.p99', s.p99, 'ms', { p50: s.p50, max: s.max, answered: status.length, answeredWhileAll4Ran: whileAll, target: '<= 50' })
  report('isolation.get_other_context_during_4_runaways.p99', g.p99, 'ms', { p50: g.p50, max: g.max, answered: get.length, target: '<= 50' })
  report('isolation.runaways_ended_after', runawayMs, 'ms', { outcomes })
} finally {
  await stopMerod(daemon)
  rmSync(home, { recursive: true, force: true })
}
