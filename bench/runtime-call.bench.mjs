// Runtime figures (issue 5): in-process kv-store `set` executions per second and latency (fresh
// instance per call, metered, over an in-memory HostState: the state layer is measured on its
// own), guest→host call overhead, the cost of metering on a compute loop, and install time
// (validate + instrument + compile). The call over the socket is measured by the node benchmarks.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Runtime } from '../dist/core/runtime/index.js'
import { buildApps } from '../scripts/build-apps.mjs'
import { report, summarize } from './lib/stats.mjs'

const B = 'runtime-call'
const root = fileURLToPath(new URL('..', import.meta.url))
const hex = (b) => Buffer.from(b).toString('hex')

/** The smallest HostState that behaves (maps and registers only). */
class MapState {
  registers = new Map()
  maps = new Map()
  map(n) { let m = this.maps.get(n); if (!m) this.maps.set(n, (m = new Map())); return m }
  read(k) { return this.registers.get(hex(k)) }
  write(k, v) { const o = this.read(k); this.registers.set(hex(k), v); return o }
  remove(k) { const o = this.read(k); this.registers.delete(hex(k)); return o }
  mapGet(n, k) { return this.maps.get(n)?.get(hex(k))?.[1] }
  mapInsert(n, k, v) { const m = this.map(n); const o = m.get(hex(k))?.[1]; m.set(hex(k), [k, v]); return o }
  mapRemove(n, k) { const m = this.map(n); const o = m.get(hex(k))?.[1]; m.delete(hex(k)); return o }
  mapContains(n, k) { return this.maps.get(n)?.has(hex(k)) ?? false }
  mapLen(n) { return this.maps.get(n)?.size ?? 0 }
  mapEntries(n) { return [...(this.maps.get(n)?.values() ?? [])].sort(([a], [b]) => Buffer.compare(a, b)) }
  mapClear(n) { const m = this.map(n); const c = m.size; m.clear(); return c }
  rootHash() { return Buffer.alloc(32) }
}

await buildApps()
const kvBytes = readFileSync(`${root}/apps/kv-store/build/kv-store.wasm`)
const ctx = Buffer.alloc(32, 1)
const executor = Buffer.alloc(32, 2)

// install: validate + instrument + compile, on a fresh runtime (binaryen already loaded once)
await new Runtime().validate(kvBytes)
{
  const times = []
  for (let i = 0; i < 5; i++) {
    const t = performance.now()
    await new Runtime().load(kvBytes)
    times.push(performance.now() - t)
  }
  report(B, summarize(times).p50, 'ms', { figure: 'kv-store install (validate + instrument + compile) p50', bytes: kvBytes.length })
}

const runtime = new Runtime()
const kv = await runtime.load(kvBytes)
const state = new MapState()
const exec = (method, args) => runtime.execute({ module: kv, method, args, state, contextId: ctx, executor })

// warm-up
for (let i = 0; i < 2000; i++) exec('set', Buffer.from(JSON.stringify({ key: `w${i % 100}`, value: 'x' })))

{
  const N = 20_000
  const args = Array.from({ length: N }, (_, i) => Buffer.from(JSON.stringify({ key: `key-${i % 1000}`, value: `value-${i}` })))
  const lat = new Array(N)
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const t = performance.now()
    exec('set', args[i])
    lat[i] = (performance.now() - t) * 1000
  }
  const elapsed = (performance.now() - t0) / 1000
  const s = summarize(lat)
  report(B, N / elapsed, 'calls/s', { figure: 'kv-store set, in-process, sequential' })
  report(B, s.p50, 'us', { figure: 'kv-store set latency p50', p99: Number(s.p99.toFixed(1)) })
  const out = exec('set', args[0])
  report(B, out.instructions, 'points', { figure: 'metering points charged by one kv-store set' })
}
{
  const N = 20_000
  const arg = Buffer.from(JSON.stringify({ key: 'key-1' }))
  const lat = new Array(N)
  for (let i = 0; i < N; i++) {
    const t = performance.now()
    exec('get', arg)
    lat[i] = (performance.now() - t) * 1000
  }
  report(B, summarize(lat).p50, 'us', { figure: 'kv-store get (read-only view) latency p50' })
}

// the same over the real CRDT state in RocksDB: execute, finish (merge, root hash), commit one batch
{
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { Store } = await import('../dist/core/store/store.js')
  const { ContextState } = await import('../dist/core/state/index.js')
  const { Hlc } = await import('../dist/core/primitives/hlc.js')
  const dir = mkdtempSync(`${tmpdir()}/mero-bench-runtime-`)
  const store = await Store.open(`${dir}/db`)
  try {
    const cs = new ContextState(store, ctx)
    const clock = new Hlc(executor)
    const N = 5_000
    const args = Array.from({ length: N }, (_, i) => Buffer.from(JSON.stringify({ key: `key-${i % 1000}`, value: `value-${i}` })))
    const lat = new Array(N)
    const t0 = performance.now()
    for (let i = 0; i < N; i++) {
      const t = performance.now()
      const session = cs.begin(executor, clock)
      runtime.execute({ module: kv, method: 'set', args: args[i], state: session, contextId: ctx, executor })
      session.finish()
      const batch = store.batch()
      session.commitInto(batch)
      batch.write()
      lat[i] = (performance.now() - t) * 1000
    }
    const elapsed = (performance.now() - t0) / 1000
    const s = summarize(lat)
    report(B, N / elapsed, 'calls/s', { figure: 'kv-store set over the real state, committed to RocksDB (no delta, no network)' })
    report(B, s.p50, 'us', { figure: 'kv-store set over the real state, committed: latency p50', p99: Number(s.p99.toFixed(1)) })
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

// guest→host overhead: a loop of N register_len calls vs the same loop without the call
const wabt = await (await import('wabt')).default()
const wat = (body) => `(module (import "env" "register_len" (func $rl (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "run") (local $i i32) (loop $l ${body}
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))))`
const toWasm = (text) => Buffer.from(wabt.parseWat('b.wat', text).toBinary({}).buffer)
const withCalls = await runtime.load(toWasm(wat('(drop (call $rl (i64.const 7)))')))
const without = await runtime.load(toWasm(wat('(drop (i64.const 7))')))
const time = (module) => {
  const t = performance.now()
  runtime.execute({ module, method: 'run', state, contextId: ctx, executor, limits: { instructionBudget: 2_000_000_000 } })
  return performance.now() - t
}
{
  time(withCalls), time(without)
  const a = Math.min(time(withCalls), time(withCalls), time(withCalls))
  const b = Math.min(time(without), time(without), time(without))
  report(B, ((a - b) * 1e6) / 1_000_000, 'ns/call', { figure: 'guest→host call overhead (register_len)', totalMsFor1M: Number(a.toFixed(1)) })
}

// metering cost on a compute loop: instrumented vs the raw module run directly
{
  const compute = `(module (memory (export "memory") 1)
    (func (export "run") (local $i i32) (local $acc i32) (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20000000))))
      (i32.store (i32.const 0) (local.get $acc))))`
  const bytes = toWasm(compute)
  const metered = await runtime.load(bytes)
  const raw = new WebAssembly.Instance(new WebAssembly.Module(bytes), {})
  const rawTime = () => { const t = performance.now(); raw.exports.run(); return performance.now() - t }
  rawTime(), time(metered)
  const m = Math.min(time(metered), time(metered), time(metered))
  const r = Math.min(rawTime(), rawTime(), rawTime())
  report(B, m / r, 'x', { figure: 'metered / unmetered time on a 20M-iteration compute loop', meteredMs: Number(m.toFixed(1)), rawMs: Number(r.toFixed(1)) })
}

// how long the default budget lets a runaway loop run before it is stopped
{
  const spin = await runtime.load(toWasm('(module (memory (export "memory") 1) (func (export "run") (loop $l (br $l))))'))
  const t = performance.now()
  try {
    runtime.execute({ module: spin, method: 'run', state, contextId: ctx, executor })
  } catch (e) {
    if (e.kind !== 'LimitExceeded') throw e
  }
  report(B, performance.now() - t, 'ms', { figure: 'time until an infinite loop is stopped (default budget)', budget: runtime.limits.instructionBudget })
}
