import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MeroNode } from '../../../src/core/node/node.js'
import { ensureBuilt, fixture } from '../runtime/fixtures.js'
import { authored, closeNodes, handOver, newNode, sharedContextAmong } from './helpers.js'

/**
 * Event handlers (issue 21, item 2), in process over real stores: an event may name a method that
 * the context's other members run when they apply the delta; the author never runs it, a receiver
 * runs it once per delta, and what it writes is a delta of the receiver's own.
 */
afterEach(closeNodes)

async function counts(n: MeroNode, ctx: Buffer): Promise<{ replicated: number; here: number; seen: number }> {
  return (await n.contexts.execute(ctx, 'handled_count', {})).result as { replicated: number; here: number; seen: number }
}

describe('event handlers', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('run on the receivers only, exactly once per delta, their writes a delta of their own, and they never chain', async () => {
    const [a, b, c] = [await newNode(), await newNode(), await newNode()]
    const { contextId: ctx } = await sharedContextAmong([a, b, c], fixture('as-app-model'))
    const r = await a.contexts.execute(ctx, 'set', { key: 'k', value: 'v' })
    expect(r.events).toEqual([{ kind: 'Inserted', data: { key: 'k', value: 'v' }, handler: 'on_insert' }])
    const fromA = authored(a, ctx)
    expect(fromA.at(-1)!.events).toEqual(r.events)

    // each receiver applies a's delta, twice (the second time is a duplicate)
    for (const n of [b, c]) {
      expect(n.remoteDeltas.receive(ctx, fromA).map((x) => x.status)).toContain('applied')
      expect(n.remoteDeltas.receive(ctx, fromA).every((x) => x.status === 'duplicate')).toBe(true)
      await n.handlers.idle()
    }
    expect(await counts(a, ctx)).toEqual({ replicated: 0, here: 0, seen: 0 })
    for (const n of [b, c]) {
      expect(n.handlers.stats).toEqual({ ran: 1, failed: 0, dropped: 0 })
      expect(await counts(n, ctx)).toEqual({ replicated: 1, here: 1, seen: 1 })
    }

    // each handler's writes are a delta its node authored, whose event names no handler
    const fromB = authored(b, ctx)
    const fromC = authored(c, ctx)
    expect(fromB).toHaveLength(1)
    expect(fromB[0]!.events).toEqual([{ kind: 'Handled', data: { key: 'k', value: 'again' } }])
    // everyone gets everyone's deltas: no handler runs again, and all converge on two runs
    for (const [n, ds] of [[a, [...fromB, ...fromC]], [b, fromC], [c, fromB]] as const) {
      n.remoteDeltas.receive(ctx, [...ds])
      await n.handlers.idle()
    }
    expect(a.handlers.stats.ran).toBe(0)
    expect(b.handlers.stats.ran).toBe(1)
    expect(c.handlers.stats.ran).toBe(1)
    for (const [n, here] of [[a, 0], [b, 1], [c, 1]] as const) expect(await counts(n, ctx)).toEqual({ replicated: 2, here, seen: 1 })
    const roots = [a, b, c].map((n) => n.contexts.require(ctx).rootHash.toString('hex'))
    expect(new Set(roots).size).toBe(1)
  }, 120_000)

  it('a handler that fails writes nothing and is reported; the delta stays applied', async () => {
    const [a, b] = [await newNode(), await newNode()]
    const { contextId: ctx } = await sharedContextAmong([a, b], fixture('as-app-model'))
    const failures: string[] = []
    b.handlers.events.on('failed', (e) => failures.push(`${e.handler}: ${e.error.kind}`))
    const published: unknown[] = []
    b.events.on((e) => e.type === 'context.handler.failed' && published.push(e))
    // a handler's arguments are the event's data: without "value", on_insert fails
    await a.contexts.execute(ctx, 'set', { key: 'k', value: 'v' })
    const d = authored(a, ctx).at(-1)!
    d.events = [{ kind: 'Inserted', data: { key: 'k' }, handler: 'on_insert' }, { kind: 'X', data: {}, handler: 'no_such_method' }] as typeof d.events
    b.remoteDeltas.receive(ctx, [d])
    await b.handlers.idle()
    expect(failures).toEqual(['on_insert: ExecutionFailed', 'no_such_method: MethodNotFound'])
    // and the node's event stream (the operator log, `meroctl events`) says so
    expect(published).toMatchObject([
      { type: 'context.handler.failed', handler: 'on_insert', kind: 'ExecutionFailed', deltaId: d.id.toString('hex'), error: expect.stringMatching(/value/) },
      { type: 'context.handler.failed', handler: 'no_such_method', kind: 'MethodNotFound' },
    ])
    expect(b.contexts.require(ctx).heads.map((h) => h.toString('hex'))).toEqual([d.id.toString('hex')])
    expect(await counts(b, ctx)).toEqual({ replicated: 0, here: 0, seen: 0 })
    expect(authored(b, ctx)).toHaveLength(0)
  }, 60_000)

  it('the author never runs its own handlers, even when its delta comes back to it (a node restored from an older backup)', async () => {
    const a = await newNode()
    const { contextId: ctx, groupId } = await sharedContextAmong([a], fixture('as-app-model'))
    await a.contexts.execute(ctx, 'set', { key: 'k', value: 'v' })
    // the same identity on a node that lacks the delta: a restored copy of a catching up
    const restored = await newNode({ identity: a.identity })
    await restored.applications.install(fixture('as-app-model'))
    handOver(a, restored, groupId, ctx)
    expect(restored.remoteDeltas.receive(ctx, authored(a, ctx)).map((x) => x.status)).toContain('applied')
    await restored.handlers.idle()
    expect(restored.handlers.stats).toEqual({ ran: 0, failed: 0, dropped: 0 })
    expect(await counts(restored, ctx)).toEqual({ replicated: 0, here: 0, seen: 0 })
  }, 60_000)
})
