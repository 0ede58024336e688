// Soak (issue 23, item 4; not in the test suite, and not run by `npm run bench` unless named:
// `node bench/soak.bench.mjs`, or `npm run bench soak`). Three daemons share a context; two of
// them write kv-store `set`s at a steady rate for SOAK_MINUTES (default 10, at least 10 for a
// figure that counts), the third only receives. Every SOAK_SAMPLE_SECS (10) the RSS (/proc) and
// the V8 heap used (/metrics) of each daemon are sampled. Per node it reports the RSS after
// set-up, the plateau (the median of the samples of the last 5 minutes, or of the last half of a
// shorter run) and its highest sample, the slope of the RSS over the same window (least squares,
// MB/min), the heap; then the writes sent and acknowledged, and whether the three nodes converged
// (the same root hash) once the writers stopped. (A node's RSS moves by ±15 MB from one sample to
// the next as V8 and RocksDB free and take memory: thirty samples in the window, not ten, keep
// the slope's own error near the 1 MB/min it is held to.)
//
// SOAK_RATE (100) calls/s per writer, each a fresh call at its own time (at most SOAK_IN_FLIGHT,
// 64, waiting at once: a call that would pass it is counted as skipped, never queued), over
// SOAK_KEYS (10,000) keys per writer, cycled: the state reaches its full size and stays there, the
// delta log keeps growing (on disk). SOAK_MEMORY_MB sets store.memory_mb (default: the node's).
// The daemons run with merod's allocator settings unless this process's environment sets its own
// (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_: docs/memory.md).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { groupWithApp } from './lib/group-with-app.mjs'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { median, report, round } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]))
const MINUTES = env('SOAK_MINUTES', 10)
const SAMPLE_MS = env('SOAK_SAMPLE_SECS', 10) * 1000
const RATE = env('SOAK_RATE', 100)
const IN_FLIGHT = env('SOAK_IN_FLIGHT', 64)
const KEYS = env('SOAK_KEYS', 10_000)
const MEMORY_MB = process.env.SOAK_MEMORY_MB
const WINDOW_MS = Math.min(5 * 60_000, (MINUTES * 60_000) / 2)

const home = mkdtempSync('/tmp/mero-bench-soak-')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const MB = 1024 * 1024
const daemons = new Map()

async function waitFor(check, ms, what) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error(`timed out: ${what}`)
}

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024
async function heapOf(d) {
  const text = await d.rpc.get('/metrics')
  return Number(/^merod_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? NaN)
}
async function sample(n) {
  const d = daemons.get(n)
  return { t: Date.now(), rss: rssOf(d.child.pid), heap: await heapOf(d) }
}

/** Least-squares slope of the RSS over the samples, in MB per minute. */
function slope(samples) {
  if (samples.length < 2) return NaN
  const xs = samples.map((s) => s.t / 60_000)
  const ys = samples.map((s) => s.rss / MB)
  const mx = xs.reduce((a, b) => a + b) / xs.length
  const my = ys.reduce((a, b) => a + b) / ys.length
  let num = 0
  let den = 0
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return num / den
}

/** A writer: one call every 1000/RATE ms on its own schedule, whatever the previous ones do. */
function writer(n, contextId, until) {
  const d = daemons.get(n)
  const counts = { sent: 0, acknowledged: 0, failed: 0, skipped: 0, errors: {} }
  let inFlight = 0
  const calls = new Set()
  const run = (async () => {
    const t0 = performance.now()
    for (let i = 0; Date.now() < until; i++) {
      const due = t0 + (i * 1000) / RATE
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      if (inFlight >= IN_FLIGHT) {
        counts.skipped++
        continue
      }
      inFlight++
      counts.sent++
      const p = d.rpc
        .call('context.execute', { context: contextId, method: 'set', args: { key: `${n}-${i % KEYS}`, value: `${n}:${i}` } })
        .then(
          () => counts.acknowledged++,
          (e) => {
            counts.failed++
            const why = `${e.kind ?? e.name}: ${String(e.message).slice(0, 120)}`
            counts.errors[why] = (counts.errors[why] ?? 0) + 1
          },
        )
        .finally(() => {
          inFlight--
          calls.delete(p)
        })
      calls.add(p)
    }
    await Promise.all(calls)
  })()
  return { counts, done: run }
}

try {
  for (const n of ['a', 'b', 'c']) {
    spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, '--node', n, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
    if (MEMORY_MB) spawnSync('sed', ['-i', `s/^memory_mb = .*/memory_mb = ${MEMORY_MB}/`, `${home}/${n}/config.toml`])
    daemons.set(n, await startMerod(home, n))
  }
  const [a, b, c] = ['a', 'b', 'c'].map((n) => daemons.get(n))
  const { groupId, applicationId } = await groupWithApp(home, [a, b, c])
  const { contextId } = await a.rpc.call('context.create', { group: groupId, application: applicationId })
  for (const d of [b, c]) {
    await waitFor(async () => (await d.rpc.call('group.get', { group: groupId })).contexts.some((x) => x.contextId === contextId), 30_000, 'context visible')
    await d.rpc.call('context.join', { context: contextId })
  }
  await sleep(2000) // the mesh forms
  const setup = {}
  for (const n of daemons.keys()) setup[n] = await sample(n)

  const started = Date.now()
  const until = started + MINUTES * 60_000
  const writers = { a: writer('a', contextId, until), b: writer('b', contextId, until) }
  const samples = { a: [], b: [], c: [] }
  while (Date.now() < until) {
    await sleep(Math.min(SAMPLE_MS, Math.max(0, until - Date.now())))
    for (const n of daemons.keys()) samples[n].push(await sample(n))
    const last = Object.entries(samples).map(([n, s]) => `${n} ${(s.at(-1).rss / MB).toFixed(0)} MB`)
    console.error(`soak: ${((Date.now() - started) / 60_000).toFixed(1)} min: ${last.join(', ')}; acknowledged ${writers.a.counts.acknowledged} + ${writers.b.counts.acknowledged}`)
  }
  await Promise.all(Object.values(writers).map((w) => w.done))

  let converged = true
  const hash = async (d) => (await d.rpc.call('context.get', { context: contextId })).rootHash
  try {
    await waitFor(async () => new Set(await Promise.all([a, b, c].map(hash))).size === 1, 120_000, 'convergence')
  } catch {
    converged = false
  }

  const windowFrom = until - WINDOW_MS
  for (const n of daemons.keys()) {
    const inWindow = samples[n].filter((s) => s.t >= windowFrom)
    const role = n === 'c' ? 'receiver' : 'writer'
    const extra = { node: n, role, minutes: MINUTES, samples: samples[n].length, window_min: round(WINDOW_MS / 60_000, 1) }
    report(`soak.${n}.rss_after_setup`, setup[n].rss / MB, 'MB', { ...extra, heap_mb: round(setup[n].heap / MB, 1) })
    report(`soak.${n}.rss_plateau`, median(inWindow.map((s) => s.rss)) / MB, 'MB', { ...extra, max_mb: round(Math.max(...inWindow.map((s) => s.rss)) / MB, 1), target: '<= 250' })
    report(`soak.${n}.rss_slope`, slope(inWindow), 'MB/min', { ...extra, target: '<= 1' })
    report(`soak.${n}.heap_plateau`, median(inWindow.map((s) => s.heap)) / MB, 'MB', { ...extra, max_mb: round(Math.max(...inWindow.map((s) => s.heap)) / MB, 1) })
  }
  const sent = writers.a.counts.sent + writers.b.counts.sent
  const acknowledged = writers.a.counts.acknowledged + writers.b.counts.acknowledged
  report('soak.writes_acknowledged', acknowledged, 'writes', {
    sent,
    failed: writers.a.counts.failed + writers.b.counts.failed,
    skipped: writers.a.counts.skipped + writers.b.counts.skipped,
    errors: Object.entries(writers.b.counts.errors).reduce((m, [why, n]) => ({ ...m, [why]: (m[why] ?? 0) + n }), { ...writers.a.counts.errors }),
    rate_per_writer: RATE,
    minutes: MINUTES,
    target: `= sent (${RATE * 2 * MINUTES * 60} scheduled)`,
  })
  report('soak.converged', converged ? 1 : 0, 'bool', { nodes: 3, target: '1' })
  if (!converged || acknowledged !== sent) process.exitCode = 1
} finally {
  for (const d of daemons.values()) await stopMerod(d).catch(() => {})
  rmSync(home, { recursive: true, force: true })
}
