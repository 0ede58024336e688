// Issue 21's collections and issue 17's listing, in process over a real RocksDB in a temp dir:
// - text: a 100,000-character document (10,000 insertions of 10 characters at random places, so
//   10,000 runs split by later ones), then one-character insertions at random places, each its own
//   execution and commit (what an editor sends per keystroke): insertions/s; and the same
//   document's deltas merged into a fresh replica (batches of 100 deltas; once with its cached
//   document followed by replaying each merge, once without): deltas/s and characters/s;
// - sorted map: a page of 100 from 100,000 entries at offsets 0, 50,000 and 99,900 (ms per page);
// - kv-store `entries` on 100,000 keys through the wasm runtime: time, the guest's peak memory,
//   metering points, and the process RSS it added.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Hlc } from '../dist/core/primitives/hlc.js'
import { Store } from '../dist/core/store/store.js'
import { ContextState, decodeDelta, deltaId, encodeDelta } from '../dist/core/state/index.js'
import { Runtime } from '../dist/core/runtime/index.js'
import { median, report, round } from './lib/stats.mjs'

const dir = mkdtempSync(join(tmpdir(), 'mero-bench-collections-'))
const ROOT = fileURLToPath(new URL('..', import.meta.url))
let seed = 42
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n
}
const ctxOf = (b) => Buffer.alloc(32, b)

/** One execution committed with its delta; returns the encoded delta (or undefined). */
function exec(store, state, node, clock, heads, fn) {
  const s = state.begin(node, clock)
  fn(s)
  const res = s.finish()
  if (res.actions.length === 0) return undefined
  const bytes = encodeDelta({ contextId: state.contextId, parents: heads.value, hlc: res.hlc, author: node, actions: res.actions })
  const batch = store.batch()
  s.commitInto(batch)
  batch.write()
  heads.value = [deltaId(bytes)]
  return bytes
}

let store
try {
  store = await Store.open(join(dir, 'data'))
  const A = Buffer.alloc(32, 1)

  // ---- text ----
  {
    const state = new ContextState(store, ctxOf(1))
    const clock = new Hlc(A)
    const heads = { value: [] }
    const deltas = []
    let length = 0
    const t0 = performance.now()
    for (let i = 0; i < 10_000; i++) {
      deltas.push(exec(store, state, A, clock, heads, (s) => s.textInsert('doc', rand(length + 1), 'abcdefghij')))
      length += 10
    }
    const buildMs = performance.now() - t0
    report('text.build_100k_chars', 10_000 / (buildMs / 1000), 'insertions/s', { insertions: 10_000, charsPerInsertion: 10, length, ms: round(buildMs, 0) })

    const rounds = []
    for (let r = 0; r < 3; r++) {
      const n = 2_000
      const t = performance.now()
      for (let i = 0; i < n; i++) exec(store, state, A, clock, heads, (s) => s.textInsert('doc', rand(length + 1), 'x')) && length++
      rounds.push(n / ((performance.now() - t) / 1000))
    }
    report('text.insert_100k_doc', median(rounds), 'insertions/s', { rounds: rounds.map((x) => round(x, 0)), note: 'one character per execution and commit, at random places of a 100,000-character document of 10,000+ runs' })
    const check = state.begin(A, clock).textLen('doc')
    if (check !== length) throw new Error(`text length ${check}, expected ${length}`)

    // merge: the document's deltas into fresh replicas, 100 per batch
    for (const [label, warm] of [['text.merge_100k_doc', false], ['text.merge_100k_doc_cached', true]]) {
      const replica = new ContextState(store, ctxOf(warm ? 3 : 2))
      const rclock = new Hlc(Buffer.alloc(32, 9))
      const decoded = deltas.map((d) => decodeDelta(d))
      const t = performance.now()
      for (let i = 0; i < decoded.length; i += 100) {
        // warm: a reader keeps the replica's document cached, so each merge replays into it
        if (warm) replica.begin(Buffer.alloc(32, 9), rclock).textLen('doc')
        const batch = store.batch()
        replica.applyDeltas(decoded.slice(i, i + 100).map((d) => ({ ...d, contextId: replica.contextId })), batch, rclock)
        batch.write()
      }
      const ms = performance.now() - t
      report(label, decoded.length / (ms / 1000), 'deltas/s', { deltas: decoded.length, chars: 100_000, charsPerSecond: round(100_000 / (ms / 1000), 0), ms: round(ms, 0) })
      const got = replica.begin(Buffer.alloc(32, 9), rclock).textLen('doc')
      if (got !== 100_000) throw new Error(`merged text length ${got}`)
    }
  }

  // ---- sorted map pages ----
  {
    const state = new ContextState(store, ctxOf(4))
    const clock = new Hlc(A)
    const heads = { value: [] }
    for (let from = 0; from < 100_000; from += 10_000) {
      exec(store, state, A, clock, heads, (s) => {
        for (let i = from; i < from + 10_000; i++) s.sortedMapInsert('board', Buffer.from(`key-${String(i).padStart(6, '0')}`), Buffer.from(`value-${i}`))
      })
    }
    for (const offset of [0, 50_000, 99_900]) {
      const times = []
      for (let r = 0; r < 20; r++) {
        const s = state.begin(A, clock)
        const t = performance.now()
        const page = s.sortedMapScan('board', { offset, limit: 100, reverse: false })
        times.push(performance.now() - t)
        if (page.length !== 100) throw new Error(`page of ${page.length}`)
      }
      report(`sorted_map.page_100_of_100k_at_${offset}`, median(times), 'ms', { p50: round(median(times), 3), min: round(Math.min(...times), 3) })
    }
  }

  // ---- kv-store entries at 100,000 keys ----
  {
    const state = new ContextState(store, ctxOf(5))
    const clock = new Hlc(A)
    const heads = { value: [] }
    for (let from = 0; from < 100_000; from += 20_000) {
      exec(store, state, A, clock, heads, (s) => {
        for (let i = from; i < from + 20_000; i++) s.mapInsert('items', Buffer.from(`key-${String(i).padStart(6, '0')}`), Buffer.from(`value-${i}`))
      })
    }
    const runtime = new Runtime()
    const kv = await runtime.load(readFileSync(join(ROOT, 'apps/kv-store/build/kv-store.wasm')))
    const times = []
    let out
    const rssBefore = process.memoryUsage().rss
    for (let r = 0; r < 5; r++) {
      const t = performance.now()
      out = runtime.execute({ module: kv, method: 'entries', args: Buffer.from('{}'), state: state.begin(A, clock), contextId: ctxOf(5), executor: A })
      times.push(performance.now() - t)
    }
    const count = Object.keys(JSON.parse(Buffer.from(out.result).toString())).length
    if (count !== 100_000) throw new Error(`entries returned ${count}`)
    report('kv_store.entries_100k', median(times), 'ms', {
      rounds: times.map((x) => round(x, 0)),
      guestMemoryMiB: round(out.memoryBytes / 1048576, 1),
      memoryLimitMiB: 64,
      outputMiB: round(out.result.length / 1048576, 2),
      instructions: out.instructions,
      rssAddedMiB: round((process.memoryUsage().rss - rssBefore) / 1048576, 1),
    })
    const page = runtime.execute({ module: kv, method: 'entries', args: Buffer.from('{"offset":50000,"limit":100}'), state: state.begin(A, clock), contextId: ctxOf(5), executor: A })
    if (Object.keys(JSON.parse(Buffer.from(page.result).toString())).length !== 100) throw new Error('bad page')
  }
} finally {
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
}
