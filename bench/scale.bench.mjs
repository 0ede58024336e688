// Scaling (issue 23, item 5; long: not run by `npm run bench` unless named, `npm run bench scale`).
// The RSS (/proc) and V8 heap used (/metrics) of a node holding, each on a node of its own:
//  - the kv-store installed and one context (the floor an operator sees);
//  - one context of SCALE_ENTRIES (1,000,000) kv-store entries, written through JSON-RPC batches
//    of 1,000 `set` calls (SCALE_BATCHES_IN_FLIGHT, 2, at once); then the call bench's figures on
//    it (p50 of 1,000 sequential `set`s of new keys and `get`s of held ones);
//  - SCALE_CONTEXTS (100) contexts of the group, each with 10 entries;
//  - a group of SCALE_MEMBERS (10,000) members, added 1,000 per group.addMembers.
// Each is measured twice: after the writes, once the daemon has been idle SCALE_SETTLE_SECS (20),
// and in a fresh daemon started on the same store (what a node holding it takes after a restart).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { toBase58 } from '../dist/core/primitives/encoding.js'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { report, summarize } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]))
const ENTRIES = env('SCALE_ENTRIES', 1_000_000)
const BATCHES_IN_FLIGHT = env('SCALE_BATCHES_IN_FLIGHT', 2)
const CONTEXTS = env('SCALE_CONTEXTS', 100)
const MEMBERS = env('SCALE_MEMBERS', 10_000)
const SETTLE_MS = env('SCALE_SETTLE_SECS', 20) * 1000
const BATCH = 1000

const home = mkdtempSync('/tmp/mero-bench-scale-')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const MB = 1024 * 1024
const wasm = `${root}/apps/kv-store/build/kv-store.wasm`
const live = new Set()

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024
async function memory(d) {
  const text = await d.rpc.get('/metrics')
  return { rss: rssOf(d.child.pid) / MB, heap: Number(/^merod_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? NaN) / MB }
}

async function node(name) {
  spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, '--node', name, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
  const d = await startMerod(home, name)
  live.add(d)
  return d
}
async function stop(d) {
  live.delete(d)
  await stopMerod(d)
}
function install(name) {
  const r = spawnSync(process.execPath, [`${root}/bin/run.js`, 'app', 'install', wasm, '--home', home, '--node', name, '--json'], { encoding: 'utf8' })
  return JSON.parse(r.stdout).applicationId
}

/** The node's memory once idle for SETTLE_MS, then again in a fresh daemon on the same store. */
async function measure(d, label, extra) {
  await sleep(SETTLE_MS)
  const after = await memory(d)
  await stop(d)
  const fresh = await startMerod(home, d.node)
  live.add(fresh)
  await sleep(SETTLE_MS)
  const restarted = await memory(fresh)
  report(`scale.${label}.rss`, after.rss, 'MB', { ...extra, heap_mb: Number(after.heap.toFixed(1)), after: `writes, then ${SETTLE_MS / 1000} s idle` })
  report(`scale.${label}.rss_after_restart`, restarted.rss, 'MB', { ...extra, heap_mb: Number(restarted.heap.toFixed(1)) })
  return fresh
}

/** `count` kv-store sets as JSON-RPC batches of BATCH calls, `BATCHES_IN_FLIGHT` at once. */
async function fill(d, contextId, count, prefix) {
  let next = 0
  let failed = 0
  await Promise.all(
    Array.from({ length: BATCHES_IN_FLIGHT }, async () => {
      while (next < count) {
        const from = next
        next = Math.min(count, next + BATCH)
        const body = []
        for (let i = from; i < next; i++) body.push({ jsonrpc: '2.0', id: i, method: 'context.execute', params: { context: contextId, method: 'set', args: { key: `${prefix}${i}`, value: `value-${i}` } } })
        const res = await d.rpc.post(body)
        failed += res.filter((r) => r.error).length
      }
    }),
  )
  if (failed) throw new Error(`${failed} of ${count} sets failed`)
}

async function latency(d, contextId, method, args) {
  const lat = []
  for (let i = 0; i < 1000; i++) {
    const t = performance.now()
    await d.rpc.call('context.execute', { context: contextId, method, args: args(i) })
    lat.push(performance.now() - t)
  }
  return summarize(lat)
}

try {
  // the floor: kv-store installed, one context, one call
  {
    let d = await node('idle')
    const applicationId = install('idle')
    const { groupId } = await d.rpc.call('group.create', {})
    const { contextId } = await d.rpc.call('context.create', { group: groupId, application: applicationId })
    await d.rpc.call('context.execute', { context: contextId, method: 'set', args: { key: 'k', value: 'v' } })
    d = await measure(d, 'idle_with_app_and_context', { target: '<= 130' })
    await stop(d)
  }

  // one context of ENTRIES entries
  {
    let d = await node('entries')
    const applicationId = install('entries')
    const { groupId } = await d.rpc.call('group.create', {})
    const { contextId } = await d.rpc.call('context.create', { group: groupId, application: applicationId })
    const t0 = performance.now()
    await fill(d, contextId, ENTRIES, 'k')
    const seconds = (performance.now() - t0) / 1000
    const extra = { entries: ENTRIES, batch: BATCH, batches_in_flight: BATCHES_IN_FLIGHT }
    report('scale.context_entries.write_rate', ENTRIES / seconds, 'sets/s', extra)
    d = await measure(d, 'context_entries', { ...extra, target: '<= 300' })
    const len = (await d.rpc.call('context.execute', { context: contextId, method: 'len', args: {} })).result
    if (Number(len) !== ENTRIES) throw new Error(`the context holds ${len} entries, not ${ENTRIES}`)
    for (let i = 0; i < 200; i++) await d.rpc.call('context.execute', { context: contextId, method: 'get', args: { key: `k${(i * 7919) % ENTRIES}` } })
    const get = await latency(d, contextId, 'get', (i) => ({ key: `k${(i * 104_729) % ENTRIES}` }))
    const set = await latency(d, contextId, 'set', (i) => ({ key: `new-${i}`, value: `v${i}` }))
    report('scale.context_entries.call_get.p50', get.p50, 'ms', { entries: ENTRIES, calls: 1000, p99: Number(get.p99.toFixed(3)) })
    report('scale.context_entries.call_set.p50', set.p50, 'ms', { entries: ENTRIES, calls: 1000, p99: Number(set.p99.toFixed(3)), target: '<= 2' })
    report('scale.context_entries.rss_after_calls', (await memory(d)).rss, 'MB', { entries: ENTRIES })
    await stop(d)
  }

  // CONTEXTS contexts
  {
    let d = await node('contexts')
    const applicationId = install('contexts')
    const { groupId } = await d.rpc.call('group.create', {})
    for (let c = 0; c < CONTEXTS; c++) {
      const { contextId } = await d.rpc.call('context.create', { group: groupId, application: applicationId })
      for (let i = 0; i < 10; i++) await d.rpc.call('context.execute', { context: contextId, method: 'set', args: { key: `k${i}`, value: `v${i}` } })
    }
    d = await measure(d, 'contexts', { contexts: CONTEXTS, entries_each: 10 })
    await stop(d)
  }

  // a group of MEMBERS members
  {
    let d = await node('members')
    const { groupId } = await d.rpc.call('group.create', {})
    for (let added = 0; added < MEMBERS; added += BATCH) {
      const identities = Array.from({ length: Math.min(BATCH, MEMBERS - added) }, () => toBase58(randomBytes(32)))
      await d.rpc.call('group.addMembers', { group: groupId, identities })
    }
    const members = (await d.rpc.call('group.get', { group: groupId })).members.length
    d = await measure(d, 'group_members', { members: MEMBERS, held: members })
    await stop(d)
  }
} finally {
  for (const d of live) await stopMerod(d).catch(() => {})
  rmSync(home, { recursive: true, force: true })
}
