// Issue 17, item 7: one peer opens 1,000 streams of the sync protocol to a real merod at once;
// node.status round trips over the socket meanwhile (p50, p99), and what the flooder saw.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { report, summarize } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-')
const STREAMS = Number(process.env.FLOOD_STREAMS ?? 1000)
let daemon
try {
  spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
  daemon = await startMerod(home)
  const status = await daemon.rpc.call('node.status')
  const target = `${status.listenAddresses[0]}/p2p/${status.peerId}`
  for (let i = 0; i < 100; i++) await daemon.rpc.call('node.status') // warm-up
  const child = spawn(process.execPath, [`${root}/bench/helpers/stream-flooder.mjs`, target, process.env.FLOOD_PROTOCOL ?? '/mero/sync/1.0.0', String(STREAMS), '3000'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const exited = new Promise((r) => child.once('exit', r))
  // node.status, back to back, from the dial until the flooder has gone
  const lat = []
  let done = false
  void exited.then(() => (done = true))
  while (!done) {
    const t = process.hrtime.bigint()
    await daemon.rpc.call('node.status')
    lat.push(Number(process.hrtime.bigint() - t) / 1e6)
    await new Promise((r) => setTimeout(r, 5))
  }
  const flood = JSON.parse(out.trim().split('\n').pop() || '{}')
  const { p50, p99 } = summarize(lat)
  report('stream_flood.node_status.p50', p50, 'ms', { streams: STREAMS, calls: lat.length })
  report('stream_flood.node_status.p99', p99, 'ms', { streams: STREAMS, calls: lat.length, target: '<= 50' })
  report('stream_flood.streams_accepted', flood.opened ?? 0, 'streams', { streams: STREAMS, refused: flood.refused, ms: flood.ms, stillConnected: flood.connected })
  await stopMerod(daemon)
  daemon = undefined
} finally {
  if (daemon) daemon.child.kill('SIGKILL')
  rmSync(home, { recursive: true, force: true })
}
