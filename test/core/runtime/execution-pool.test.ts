import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { Hlc } from '../../../src/core/primitives/hlc.js'
import { ExecutionPool } from '../../../src/core/runtime/execution-pool.js'
import { Runtime, type LoadedModule } from '../../../src/core/runtime/index.js'
import { SliceExceeded } from '../../../src/core/runtime/session.js'
import type { ContextState } from '../../../src/core/state/index.js'
import { Store } from '../../../src/core/store/store.js'
import { EXECUTOR, ensureBuilt, fixture, json, kvStoreWasm, parse, numberedState } from './fixtures.js'

/**
 * Methods on worker threads (execution-pool.ts): the state stays on this thread and answers the
 * worker's host calls; a call past its deadline is stopped and its worker replaced.
 */
const runtime = new Runtime({ limits: { instructionBudget: 50_000_000_000 } })
let kv: LoadedModule
let edge: LoadedModule
let dir: string
let store: Store
let pool: ExecutionPool
let contexts = 0
const clock = new Hlc(EXECUTOR)

/** A fresh context's state (a context id of its own in the one store). */
function freshState(): ContextState {
  return numberedState(store, ++contexts)
}

async function call(state: ContextState, module: LoadedModule, method: string, args?: unknown, deadlineMs?: number) {
  const s = state.begin(EXECUTOR, clock)
  const out = await pool.run({ module, method, args: args === undefined ? undefined : json(args), state: s, contextId: state.contextId, executor: EXECUTOR, ...(deadlineMs ? { deadlineMs } : {}) })
  if (!out.readOnly) {
    s.finish()
    const batch = store.batch()
    s.commitInto(batch)
    batch.write()
  }
  return { value: parse(out.result), events: out.events.map((e) => ({ kind: e.kind, data: parse(e.data) })) }
}

describe('execution pool', () => {
  beforeAll(async () => {
    await ensureBuilt()
    kv = await runtime.load(kvStoreWasm())
    edge = await runtime.load(fixture('edge-cases'))
    dir = mkdtempSync(join(tmpdir(), 'mero-pool-'))
    store = await Store.open(join(dir, 'db'))
    pool = new ExecutionPool({ runtime, maxWorkers: 3, slice: { instructions: 0, ms: 1 } })
  }, 120_000)
  afterAll(async () => {
    await pool?.stop()
    await store?.close().catch(() => {})
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('runs kv-store on a worker over the state of this thread, with its events and listings', async () => {
    const state = freshState()
    await call(state, kv, 'init', {})
    for (let i = 0; i < 20; i++) expect((await call(state, kv, 'set', { key: `k${i}`, value: `v${i}` })).events).toEqual([{ kind: 'Inserted', data: { key: `k${i}`, value: `v${i}` } }])
    expect((await call(state, kv, 'get', { key: 'k7' })).value).toBe('v7')
    expect((await call(state, kv, 'len', {})).value).toBe(20)
    const entries = (await call(state, kv, 'entries', {})).value as Record<string, string>
    expect(Object.keys(entries)).toHaveLength(20)
    expect(entries.k19).toBe('v19')
    expect(pool.running).toBeGreaterThanOrEqual(1)
  })

  it('a failure on the worker comes back as the typed error', async () => {
    const state = freshState()
    await expect(call(state, edge, 'panic')).rejects.toMatchObject({ kind: 'ExecutionFailed' })
    await expect(call(state, kv, 'nope')).rejects.toMatchObject({ kind: 'MethodNotFound' })
  })

  it('a call past its deadline fails with Timeout, writes nothing, and the next call runs on a fresh worker', async () => {
    const state = freshState()
    const before = state.rootHash()
    const started = pool.stats.started
    const err = await call(state, edge, 'spin', undefined, 300).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MeroError)
    expect(err).toMatchObject({ kind: 'Timeout', details: { limit: 'callDeadlineMs', deadlineMs: 300 } })
    expect(state.rootHash().equals(before)).toBe(true)
    expect(pool.stats.deadlines).toBeGreaterThanOrEqual(1)
    await call(state, kv, 'set', { key: 'after', value: 'timeout' })
    expect((await call(state, kv, 'get', { key: 'after' })).value).toBe('timeout')
    expect(pool.stats.started).toBeGreaterThan(started)
  })

  it('calls beyond the workers wait for one and all complete', async () => {
    const states = Array.from({ length: 6 }, () => freshState())
    const results = await Promise.all(states.map((s, i) => call(s, kv, 'set', { key: 'x', value: String(i) })))
    expect(results).toHaveLength(6)
    expect(pool.running).toBeLessThanOrEqual(3)
    for (let i = 0; i < 6; i++) expect((await call(states[i]!, kv, 'get', { key: 'x' })).value).toBe(String(i))
  })

  it("a call's deadline does not count its worker's start-up", async () => {
    // a worker loads its entry (from the TypeScript sources here) in far more than 50 ms
    const fresh = new ExecutionPool({ runtime, maxWorkers: 1, deadlineMs: 50, slice: { instructions: 0, ms: 1 } })
    try {
      const state = freshState()
      const s = state.begin(EXECUTOR, clock)
      const out = await fresh.run({ module: kv, method: 'set', args: json({ key: 'k', value: 'v' }), state: s, contextId: state.contextId, executor: EXECUTOR })
      expect(parse(out.result)).toBeUndefined()
      expect(fresh.stats).toMatchObject({ started: 1, calls: 1, deadlines: 0 })
    } finally {
      await fresh.stop()
    }
  })

  it('a call stopped by time alone is tried inline once more, and finishes there without starting a worker', async () => {
    // the real runtime, whose first inline attempt is preempted past its time (as a GC pause or
    // a busy core does): the second attempt runs as usual
    let attempts = 0
    const preemptedOnce = {
      limits: runtime.limits,
      execute: (req: Parameters<Runtime['execute']>[0]) => {
        if (req.slice && attempts++ === 0) {
          req.state.write(Buffer.from('half-written'), Buffer.from('x'))
          throw new SliceExceeded('time')
        }
        return runtime.execute(req)
      },
    } as unknown as Runtime
    const inline = new ExecutionPool({ runtime: preemptedOnce, maxWorkers: 2 })
    try {
      const state = freshState()
      const s = state.begin(EXECUTOR, clock)
      await inline.run({ module: kv, method: 'set', args: json({ key: 'k', value: 'v' }), state: s, contextId: state.contextId, executor: EXECUTOR })
      expect(inline.stats).toMatchObject({ inline: 1, reattempted: 1, retried: 0, calls: 0, started: 0 })
      expect(inline.running).toBe(0)
      // the first attempt's write was taken back; the second's is there
      expect(s.read(Buffer.from('half-written'))).toBeUndefined()
    } finally {
      await inline.stop()
    }
  })

  it('a call past its time on both inline attempts runs on a worker, and the method is not taken for a long one', async () => {
    const timeOnly = new ExecutionPool({ runtime, maxWorkers: 2, slice: { ms: 1e-9 } })
    try {
      const state = freshState()
      for (const value of ['v1', 'v2']) {
        const s = state.begin(EXECUTOR, clock)
        await timeOnly.run({ module: kv, method: 'set', args: json({ key: 'k', value }), state: s, contextId: state.contextId, executor: EXECUTOR })
      }
      // each call: two inline attempts, then a worker (time is noise: the next call tries inline again)
      expect(timeOnly.stats).toMatchObject({ inline: 0, reattempted: 2, retried: 2, calls: 2 })
    } finally {
      await timeOnly.stop()
    }
  })
})
