import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Cluster } from '../helpers/cluster.js'
import { ROOT, TestHome, waitFor } from '../helpers/harness.js'

/**
 * Event handlers across three real daemons (issue 21, item 2): the event of a call on a names a
 * handler; b and c run it once each when they apply the delta, a never does, and neither the
 * handlers' own deltas nor syncs that bring the same deltas again run it again.
 */
const APP = join(ROOT, 'test/fixtures/wasm/build/as-app-model.wasm')

let t: TestHome
let c: Cluster
afterEach(async () => {
  c?.close()
  await t?.cleanup()
})

interface Counts {
  replicated: number
  here: number
  seen: number
}

describe('event handlers (three daemons)', () => {
  it('run on the receivers only, exactly once per delta', async () => {
    t = new TestHome()
    c = new Cluster(t)
    for (const n of ['a', 'b', 'c']) await c.start(n)
    await c.share('a', ['b', 'c'])
    const appId = (await t.json(['app', 'install', APP, '--node', 'a'])).applicationId as string
    const { contextId } = await c.rpc.a!.call<{ contextId: string }>('context.create', { group: c.groupId, application: appId })
    for (const m of ['b', 'c']) {
      await waitFor(() => c.rpc[m]!.call<{ contexts: { contextId: string }[] }>('group.get', { group: c.groupId }).then((g) => g.contexts.some((x) => x.contextId === contextId)), 20_000)
      await t.json(['context', 'join', contextId, '--node', m])
    }
    const counts = async (n: string) => (await c.rpc[n]!.call<{ result: Counts }>('context.execute', { context: contextId, method: 'handled_count', args: {} })).result
    const all = async () => Object.fromEntries(await Promise.all(['a', 'b', 'c'].map(async (n) => [n, await counts(n)] as const)))
    const expected = { a: { replicated: 2, here: 0, seen: 1 }, b: { replicated: 2, here: 1, seen: 1 }, c: { replicated: 2, here: 1, seen: 1 } }

    await c.rpc.a!.call('context.execute', { context: contextId, method: 'set', args: { key: 'k', value: 'v' } })
    // b's and c's handlers run, and their deltas reach everyone
    await waitFor(async () => JSON.stringify(await all()) === JSON.stringify(expected), 30_000)

    // syncs bring the same deltas again: nothing runs again
    for (let round = 0; round < 2; round++) for (const n of ['a', 'b', 'c']) await c.rpc[n]!.call('context.sync', { context: contextId })
    expect(await all()).toEqual(expected)
    const roots = await Promise.all(['a', 'b', 'c'].map((n) => c.rpc[n]!.call<{ rootHash: string }>('context.get', { context: contextId }).then((m) => m.rootHash)))
    expect(new Set(roots).size).toBe(1)
  }, 180_000)
})
