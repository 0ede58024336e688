import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MeroNode } from '../../../src/core/node/node.js'
import { fromBase58, toBase58 } from '../../../src/core/primitives/encoding.js'
import { ensureBuilt, fixture } from '../runtime/fixtures.js'
import { closeNodes, newNode } from './helpers.js'

/**
 * Cross-context calls (issue 21, item 3), in process over a real store: a method queues calls to
 * methods of other contexts of its group that declare themselves callable; they run once its
 * delta is written, see the calling context, and are bounded in number and depth.
 */
afterEach(closeNodes)

async function contextIn(n: MeroNode, groupId: Buffer, appId: string): Promise<{ id: Buffer; name: string }> {
  const meta = await n.contexts.create(groupId, fromBase58(appId, 'application id', 32), {})
  return { id: meta.contextId, name: toBase58(meta.contextId) }
}

async function state(n: MeroNode, ctx: { id: Buffer }) {
  return (await n.contexts.execute(ctx.id, 'state', {})).result as { pings: number; pongs: number; relays: number; origin: string | null; secret: string | null }
}

describe('cross-context calls', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('allowed: the callee runs once the caller committed, sees the calling context, and commits a delta of its own', async () => {
    const n = await newNode()
    const appId = (await n.applications.install(fixture('as-app-model'))).applicationId
    const g = n.createGroup()
    const [c1, c2] = [await contextIn(n, g, appId), await contextIn(n, g, appId)]
    const before = n.contexts.require(c2.id).deltas
    const r = await n.contexts.execute(c1.id, 'ping', { target: c2.name })
    expect(r.deltaId).not.toBeNull()
    expect(r.xcalls).toEqual([{ context: c2.name, method: 'pong', ok: true, result: 1, deltaId: expect.any(String) }])
    expect(await state(n, c1)).toMatchObject({ pings: 1, pongs: 0 })
    expect(await state(n, c2)).toMatchObject({ pings: 0, pongs: 1, origin: c1.name })
    expect(n.contexts.require(c2.id).deltas).toBe(before + 1) // the pong's
    // called by a client, the same method sees no calling context
    await n.contexts.execute(c2.id, 'pong', {})
    expect(await state(n, c2)).toMatchObject({ pongs: 2, origin: 'none' })
  }, 60_000)

  it('refused: a method not declared callable, a context of another group, one not held; the caller\'s own writes stay', async () => {
    const n = await newNode()
    const appId = (await n.applications.install(fixture('as-app-model'))).applicationId
    const [g1, g2] = [n.createGroup(), n.createGroup()]
    const [c1, c2, other] = [await contextIn(n, g1, appId), await contextIn(n, g1, appId), await contextIn(n, g2, appId)]
    const secret = await n.contexts.execute(c1.id, 'ping', { target: c2.name, method: 'secret' })
    expect(secret.xcalls).toMatchObject([{ context: c2.name, method: 'secret', ok: false, error: { kind: 'NotAuthorized', message: expect.stringMatching(/may not be called by other contexts/) } }])
    const foreign = await n.contexts.execute(c1.id, 'ping', { target: other.name })
    expect(foreign.xcalls).toMatchObject([{ ok: false, error: { kind: 'NotAuthorized', message: expect.stringMatching(/not in the calling context's group/) } }])
    const unknown = await n.contexts.execute(c1.id, 'ping', { target: '11111111111111111111111111111111' })
    expect(unknown.xcalls).toMatchObject([{ ok: false, error: { kind: 'ContextNotFound' } }])
    expect(await state(n, c2)).toMatchObject({ pongs: 0, secret: null })
    expect(await state(n, other)).toMatchObject({ pongs: 0 })
    expect(await state(n, c1)).toMatchObject({ pings: 3 })
    // more than 8 queued calls fail the caller (nothing written, nothing called)
    await expect(n.contexts.execute(c1.id, 'many', { target: c2.name, n: 9 })).rejects.toMatchObject({ kind: 'LimitExceeded', message: expect.stringMatching(/at most 8 cross-context calls/) })
    expect(await state(n, c2)).toMatchObject({ pongs: 0 })
    const eight = await n.contexts.execute(c1.id, 'many', { target: c2.name, n: 8 })
    expect(eight.xcalls!.map((x) => x.ok)).toEqual(Array(8).fill(true))
    expect(await state(n, c2)).toMatchObject({ pongs: 8 })
  }, 60_000)

  it('depth limit: calls nest at most 3 deep; the call that would go deeper fails and takes back its writes', async () => {
    const n = await newNode()
    const appId = (await n.applications.install(fixture('as-app-model'))).applicationId
    const g = n.createGroup()
    const [c1, c2] = [await contextIn(n, g, appId), await contextIn(n, g, appId)]
    // c1 (client) → c2 (depth 1) → c1 (depth 2) → c2 (depth 3), which tries to go on to c1
    const r = await n.contexts.execute(c1.id, 'relay', { chain: [c2.name, c1.name, c2.name, c1.name].join(',') })
    const d1 = r.xcalls![0]!
    expect(d1).toMatchObject({ context: c2.name, ok: true })
    const d2 = (d1 as { xcalls: unknown[] }).xcalls[0]
    expect(d2).toMatchObject({ context: c1.name, ok: true })
    const d3 = (d2 as { xcalls: unknown[] }).xcalls[0]
    expect(d3).toMatchObject({ context: c2.name, ok: false, error: { kind: 'LimitExceeded', message: expect.stringMatching(/nest at most 3 deep/) } })
    expect(await state(n, c1)).toMatchObject({ relays: 2 })
    expect(await state(n, c2)).toMatchObject({ relays: 1 })
  }, 60_000)
})
