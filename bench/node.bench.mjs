// Foundation figures (issue 2): meroctl start-up against a running daemon vs `node -e 0`,
// node.status round trips over the socket, merod spawn-to-ready, and merod idle RSS.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { median, report, summarize } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const MEROD = `${root}/bin/merod.js`
const MEROCTL = `${root}/bin/run.js`
const home = mkdtempSync('/tmp/mero-bench-')
const env = { ...process.env, NO_COLOR: '1' }

function wall(args) {
  const t = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t) / 1e6
}

const startDaemon = () => startMerod(home, 'default', env)
const stopDaemon = stopMerod

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m[1]) / 1024
}

/** Every daemon started and not yet stopped: killed in `finally` when a step throws. */
const running = new Set()

try {
  spawnSync(process.execPath, [MEROD, '--home', home, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })

  // spawn → ready, median of 5 cold starts; each stopped by SIGTERM (SIGTERM → exit timed)
  const readies = []
  const exits = []
  for (let i = 0; i < 5; i++) {
    const d = await startDaemon()
    running.add(d)
    readies.push(d.readyMs)
    const exited = new Promise((r) => d.child.once('exit', (code) => r(code)))
    const t = performance.now()
    d.child.kill('SIGTERM')
    const code = await exited
    exits.push(performance.now() - t)
    d.rpc.close()
    running.delete(d)
    if (code !== 0) throw new Error(`merod exited ${code} on SIGTERM`)
  }
  report('merod.spawn_to_ready', median(readies), 'ms', { runs: readies.length, rounds: readies.map((v) => Number(v.toFixed(1))), target: '<= 1500' })
  report('merod.sigterm_to_exit', median(exits), 'ms', { runs: exits.length, rounds: exits.map((v) => Number(v.toFixed(1))) })

  const daemon = await startDaemon()
  running.add(daemon)
  await new Promise((r) => setTimeout(r, 3_000))
  // five samples a second apart (the figure has a target)
  const rss = []
  for (let i = 0; i < 5; i++) {
    if (i) await new Promise((r) => setTimeout(r, 1_000))
    rss.push(rssMb(daemon.child.pid))
  }
  report('merod.idle_rss', median(rss), 'MB', { samples: rss.map((v) => Number(v.toFixed(1))), target: '<= 120' })

  // meroctl node status vs node -e 0, interleaved, median of 20 each
  const baseline = []
  const status = []
  for (let i = 0; i < 20; i++) {
    baseline.push(wall(['-e', '0']))
    status.push(wall([MEROCTL, 'node', 'status', '--home', home, '--no-start']))
  }
  const b = median(baseline)
  const s = median(status)
  report('node_e_0.wall', b, 'ms', { runs: 20 })
  report('meroctl.node_status.wall', s, 'ms', { runs: 20 })
  report('meroctl.node_status.ratio_to_node_e_0', s / b, 'x', { target: '<= 4' })

  // RPC round trips: 1,000 sequential, then calls/s with 16 in flight
  const client = daemon.rpc
  for (let i = 0; i < 200; i++) await client.call('node.status') // warm-up
  const lat = []
  for (let i = 0; i < 1000; i++) {
    const t = process.hrtime.bigint()
    await client.call('node.status')
    lat.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  const { p50, p99 } = summarize(lat)
  report('rpc.node_status.p50', p50, 'ms', { calls: 1000, target: '<= 1' })
  report('rpc.node_status.p99', p99, 'ms', { calls: 1000 })

  const total = 10_000
  let next = 0
  const t0 = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < total) await client.call('node.status')
    }),
  )
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  report('rpc.node_status.throughput_16_in_flight', total / secs, 'calls/s', { calls: total })

  await stopDaemon(daemon)
  running.delete(daemon)
} finally {
  for (const d of running) {
    d.rpc.close()
    d.child.kill('SIGKILL')
  }
  rmSync(home, { recursive: true, force: true })
}
