import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MeroNode } from '../../../src/core/node/node.js'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { ensureBuilt, fixture } from '../runtime/fixtures.js'
import { authored, closeNodes, newNode } from './helpers.js'

/**
 * Methods run off the event loop (issue 17, item 4), in process over real stores: a call that
 * never returns leaves the event loop free (timers fire, other contexts' calls run), ends at its
 * wall-clock deadline with a typed error, and takes back only its own writes.
 */
afterEach(closeNodes)

async function contextWith(n: MeroNode): Promise<Buffer> {
  const app = await n.applications.install(fixture('as-edge-cases'))
  const groupId = n.createGroup()
  const meta = await n.contexts.create(groupId, fromBase58(app.applicationId, 'application id', 32), {})
  return meta.contextId
}

/** Whether `p` is still pending after the current turns. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending')
  return (await Promise.race([p.then(() => undefined, () => undefined), new Promise((r) => setImmediate(() => r(marker)))])) === marker
}

describe('isolation of applications (in process)', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('while runaways spin (in wasm, and calling the host), timers fire and calls on another context commit', async () => {
    // no instruction budget in reach: only the deadline ends them
    const n = await newNode({ runtimeLimits: { instructionBudget: 100_000_000_000 }, callDeadlineMs: 60_000 })
    const [x, y, other] = [await contextWith(n), await contextWith(n), await contextWith(n)]
    const before = [x, y].map((c) => n.contexts.require(c))
    const runaways = [n.contexts.execute(x, 'spin', {}), n.contexts.execute(y, 'spin_reading', {})]
    for (const r of runaways) r.catch(() => undefined)
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    try {
      for (let i = 0; i < 20; i++) await n.contexts.execute(other, 'put', { key: `k${i}`, value: String(i) })
      await new Promise((r) => setTimeout(r, 100))
      expect((await n.contexts.execute(other, 'read_key', { key: 'k19' })).result).toBe('19')
      expect(ticks).toBeGreaterThan(5)
      for (const r of runaways) expect(await pending(r)).toBe(true)
    } finally {
      clearInterval(timer)
      await n.executionPool.stop() // ends the runaways
    }
    for (const r of runaways) await expect(r).rejects.toMatchObject({ kind: 'Unavailable' })
    // stopped, they wrote nothing ("spun" was their first write)
    expect([x, y].map((c) => n.contexts.require(c))).toEqual(before)
  }, 120_000)

  it('a call past its deadline fails with Timeout and writes nothing; the calls beside it commit as one delta', async () => {
    const n = await newNode({ runtimeLimits: { instructionBudget: 100_000_000_000 }, callDeadlineMs: 400 })
    const ctx = await contextWith(n)
    const before = n.contexts.require(ctx)
    const out = await Promise.allSettled([
      n.contexts.execute(ctx, 'put', { key: 'a', value: '1' }),
      n.contexts.execute(ctx, 'spin', {}),
      n.contexts.execute(ctx, 'put', { key: 'b', value: '2' }),
      n.contexts.execute(ctx, 'spin_reading', {}),
    ])
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected'])
    for (const i of [1, 3]) {
      expect((out[i] as PromiseRejectedResult).reason).toMatchObject({ kind: 'Timeout', details: { limit: 'callDeadlineMs', deadlineMs: 400 } })
      expect((out[i] as PromiseRejectedResult).reason.message).toMatch(/ran past its deadline of 400 ms/)
    }
    const meta = n.contexts.require(ctx)
    expect(meta.deltas).toBe(before.deltas + 1)
    const [delta] = authored(n, ctx).slice(-1)
    expect(delta!.delta.actions.map((a) => (a.type === 'update' ? a.target.key.toString() : a.type))).toEqual(['a', 'b'])
    expect((await n.contexts.execute(ctx, 'read_key', { key: 'spun' })).result).toBeNull()
    expect(n.executionPool.stats.deadlines).toBe(2)
    // the node carries on: the next calls run (on fresh workers where needed)
    await n.contexts.execute(ctx, 'put', { key: 'c', value: '3' })
    expect((await n.contexts.execute(ctx, 'read_key', { key: 'c' })).result).toBe('3')
    expect(n.contexts.state(ctx).rootHash().toString('hex')).toBe(n.contexts.require(ctx).rootHash.toString('hex'))
  }, 60_000)

  it('a short call finishes on the event loop; one past its slice is taken back and runs once on a worker, with all its writes', async () => {
    // the slice's time bound is out of reach (on a loaded machine a short call may be preempted past 20 ms): host calls decide
    const n = await newNode({ inlineSlice: { ms: 60_000 } })
    const ctx = await contextWith(n)
    const pool = n.executionPool
    const inline = pool.stats.inline
    await n.contexts.execute(ctx, 'put', { key: 'a', value: '1' })
    expect(pool.stats.inline).toBe(inline + 1)
    expect(pool.stats.calls).toBe(0)
    // 1,500 host calls: past the slice's 1,000, so the first attempt is taken back
    const before = n.contexts.require(ctx)
    const r = await n.contexts.execute(ctx, 'put_many', { n: 1500 })
    expect(pool.stats).toMatchObject({ retried: 1, calls: 1 })
    expect(r.deltaId).not.toBeNull()
    const [delta] = authored(n, ctx).slice(-1)
    expect(delta!.delta.actions).toHaveLength(1500)
    expect(n.contexts.require(ctx).deltas).toBe(before.deltas + 1)
    expect((await n.contexts.execute(ctx, 'read_key', { key: 'k1499' })).result).toBe('1499')
    // the method is known to be long now: the next call goes straight to a worker
    await n.contexts.execute(ctx, 'put_many', { n: 10 })
    expect(pool.stats).toMatchObject({ retried: 1, calls: 2 })
  }, 60_000)
})
