// meroctl watch (issue 7): how many events a second the TUI keeps up with while staying
// responsive to keys. Synthetic NodeEvents go through the real WatchStore (100 ms batches), the
// reducer and the ink App rendered by ink itself (not debug mode) into a fake 160×48 TTY;
// meanwhile a key (tab) is pressed every 100 ms and the time until a frame shows its effect is
// measured.
import { EventEmitter } from 'node:events'
import { createElement } from 'react'
import { render } from 'ink'
import { App } from '../dist/client/tui/components/App.js'
import { initialState, reduce } from '../dist/client/tui/model.js'
import { WatchStore } from '../dist/client/tui/store.js'
import { report, round, summarize } from './lib/stats.mjs'

const GROUPS = Array.from({ length: 8 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32))
const IDS = Array.from({ length: 64 }, (_, i) => `Id${String(i).padStart(3, '0')}${'x'.repeat(38)}`)
let seq = 0
function event() {
  const n = ++seq
  const groupId = GROUPS[n % GROUPS.length]
  switch (n % 5) {
    case 0:
      return { seq: n, ts: Date.now(), groupId, type: 'group.member.added', identity: IDS[n % IDS.length], role: 'member' }
    case 1:
      return { seq: n, ts: Date.now(), groupId, type: 'group.op.applied', opId: 'ab'.repeat(32), kind: 'MemberAdded', signer: IDS[0], seq: n }
    case 2:
      return { seq: n, ts: Date.now(), groupId, type: 'group.member.removed', identity: IDS[n % IDS.length], reason: 'removed' }
    case 3:
      return { seq: n, ts: Date.now(), contextId: `Ctx${n % 4}`, type: 'context.state.mutated', rootHash: `Root${n}`, deltaId: `Delta${n}`, events: [] }
    default:
      return { seq: n, ts: Date.now(), groupId, type: 'group.op.rejected', opId: 'cd'.repeat(32), kind: 'MemberRemoved', signer: IDS[1], reason: 'signer may not remove members' }
  }
}

class FakeTty extends EventEmitter {
  isTTY = true
  columns = 160
  rows = 48
  frames = 0
  bytes = 0
  onWrite = undefined
  write(chunk) {
    this.frames++
    this.bytes += chunk.length
    this.onWrite?.(chunk)
    return true
  }
}

// the shape ink reads keys from (as ink-testing-library's)
class FakeStdin extends EventEmitter {
  isTTY = true
  data = null
  write(data) {
    this.data = data
    this.emit('readable')
    this.emit('data', data)
  }
  read() {
    const d = this.data
    this.data = null
    return d
  }
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// 1. the reducer alone, in 100-event batches (what one flush applies)
{
  let s = initialState({ logCap: 1000 })
  const batch = 100
  const total = 200_000
  const t0 = performance.now()
  for (let i = 0; i < total; i += batch) s = reduce(s, { type: 'events', events: Array.from({ length: batch }, event) })
  const ms = performance.now() - t0
  report('tui_reducer_events_per_s', total / (ms / 1000), 'events/s', { batch, logCap: 1000 })
}

// 2. store + reducer + ink frames at a given input rate, with keys pressed meanwhile
async function sustained(rate, seconds) {
  const stdout = new FakeTty()
  const stdin = new FakeStdin()
  const store = new WatchStore({ flushMs: 100 })
  store.dispatch({ type: 'connection', state: 'connected' })
  const app = render(createElement(App, { store, tick: false }), { stdout, stdin, stderr: new FakeTty(), exitOnCtrlC: false, patchConsole: false, maxFps: 30 })
  await sleep(200)
  stdout.frames = 0
  stdout.bytes = 0

  const panes = ['Contexts', 'Events', 'Groups']
  const latencies = []
  let pushed = 0
  let loopLagMax = 0
  const started = performance.now()
  // timers fire late while frames render: push what is due by the clock, not per tick
  let lastTick = started
  const feeder = setInterval(() => {
    const now = performance.now()
    loopLagMax = Math.max(loopLagMax, now - lastTick - 10)
    lastTick = now
    const due = Math.floor(((now - started) / 1000) * rate) - pushed
    for (let i = 0; i < due; i++) store.pushEvent(event())
    pushed += Math.max(0, due)
  }, 10)
  let k = 0
  while (performance.now() - started < seconds * 1000) {
    await sleep(100)
    const want = `▸ ${panes[k++ % panes.length]}`
    const t = performance.now()
    const seen = new Promise((resolve) => {
      stdout.onWrite = (chunk) => {
        if (chunk.includes(want)) resolve(performance.now() - t)
      }
    })
    stdin.write('\t')
    const ms = await Promise.race([seen, sleep(2000).then(() => Infinity)])
    stdout.onWrite = undefined
    latencies.push(ms)
  }
  clearInterval(feeder)
  const elapsed = (performance.now() - started) / 1000
  await sleep(250) // one more flush window: everything pushed must be applied by now
  const applied = store.getState().totalEvents
  const frames = stdout.frames
  app.unmount()
  store.close()
  const sorted = [...latencies].sort((a, b) => a - b)
  const lat = { ...summarize(latencies), p95: sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)], n: sorted.length }
  return { rate, elapsed, pushed, applied, keptUp: applied === pushed, framesPerS: frames / elapsed, bytesPerS: stdout.bytes / elapsed, loopLagMax, lat }
}

let best = 0
for (const rate of [1_000, 5_000, 20_000, 50_000, 100_000]) {
  const r = await sustained(rate, 4)
  const responsive = r.lat.p95 < 250
  report('tui_sustained_applied_events_per_s', round(r.applied / r.elapsed, 0), 'events/s', { offered: rate, keptUp: r.keptUp, pending: r.pushed - r.applied })
  report('tui_key_to_frame_ms_p50', round(r.lat.p50, 2), 'ms', { offered: rate, keys: r.lat.n })
  report('tui_key_to_frame_ms_p95', round(r.lat.p95, 2), 'ms', { offered: rate, keys: r.lat.n, max: round(r.lat.max, 1) })
  report('tui_stdout_writes_per_s', round(r.framesPerS, 1), 'writes/s', { offered: rate, kbPerS: round(r.bytesPerS / 1024, 1), eventLoopStallMaxMs: round(r.loopLagMax, 1) })
  if (r.keptUp && responsive) best = Math.max(best, rate)
}
report('tui_max_keeps_up_events_per_s', best, 'events/s', { criterion: 'highest offered rate with every event applied within one flush window after the run and key-to-frame p95 < 250 ms' })
process.exit(0)
