// Cross-context calls (issue 21 item 3): what a queued call into another context adds to a call.
// On a real merod, with the test app-model fixture: `pong` called directly on context B (one
// mutating call, one delta), and `ping` on context A, which writes and queues `pong` on B (two
// calls, two deltas, answered once both are written). Reported: p50 of each, one call in flight,
// and the added latency (ping - pong).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { report, summarize } from './lib/stats.mjs'

const CALLS = 500
const root = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-xcall-')
spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
const daemon = await startMerod(home)
const { rpc } = daemon
try {
  const app = JSON.parse(spawnSync(process.execPath, [`${root}/bin/run.js`, 'app', 'install', `${root}/test/fixtures/wasm/build/as-app-model.wasm`, '--home', home, '--json'], { encoding: 'utf8' }).stdout).applicationId
  const { groupId } = await rpc.call('group.create', {})
  const { contextId: a } = await rpc.call('context.create', { group: groupId, application: app })
  const { contextId: b } = await rpc.call('context.create', { group: groupId, application: app })
  // the two kinds alternate, so that both meet the same machine
  const direct = []
  const via = []
  const call = async (context, method, args, into) => {
    const t = performance.now()
    const r = await rpc.call('context.execute', { context, method, args })
    into?.push(performance.now() - t)
    if (r.xcalls && !r.xcalls.every((x) => x.ok)) throw new Error(`xcall failed: ${JSON.stringify(r.xcalls)}`)
  }
  for (let i = 0; i < 50; i++) {
    await call(b, 'pong', {})
    await call(a, 'ping', { target: b })
  }
  for (let i = 0; i < CALLS; i++) {
    await call(b, 'pong', {}, direct)
    await call(a, 'ping', { target: b }, via)
  }
  const d = summarize(direct)
  const v = summarize(via)
  report('xcall.direct_call.p50', d.p50, 'ms', { p99: d.p99, calls: CALLS })
  report('xcall.call_with_xcall.p50', v.p50, 'ms', { p99: v.p99, calls: CALLS })
  report('xcall.added_latency.p50', v.p50 - d.p50, 'ms', { note: 'the callee is a call and a delta of its own' })
} finally {
  await stopMerod(daemon)
  rmSync(home, { recursive: true, force: true })
}
