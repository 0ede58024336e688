import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RpcClient } from '../../src/client/rpc-client.js'
import { Cluster } from '../helpers/cluster.js'
import { ROOT, TestHome, waitFor } from '../helpers/harness.js'

/**
 * Isolation of applications (issue 17, item 4), across real daemons: methods run off the daemon's
 * event loop, so while four calls spin (each on a context of its own, kept in flight the whole
 * time) the node still answers `node.status`, runs a `get` on another context and applies the
 * deltas a peer gossips. When the runaways end (their deadline), they have written nothing.
 */
const EDGE_WASM = join(ROOT, 'test/fixtures/wasm/build/edge-cases.wasm')

let t: TestHome
let c: Cluster
let long: RpcClient | undefined
afterEach(async () => {
  c?.close()
  long?.close()
  await t?.cleanup()
})

describe('isolation of applications', () => {
  it('with four runaway calls in flight, node.status and a get on another context answer, and a peer\'s deltas apply; the runaways then fail without writing', async () => {
    t = new TestHome()
    c = new Cluster(t)
    // a budget no method reaches before its deadline (10 s by default)
    await c.start('a', (toml) => toml.replace(/instruction_budget = \d+/, 'instruction_budget = 100000000000'))
    await c.start('b')
    await c.share('a', ['b'])
    const a = c.rpc.a!
    // the gossip path works before the runaways start
    await c.call('b', 'set', { key: 'before', value: 'b' })
    await waitFor(async () => (await c.call<string | null>('a', 'get', { key: 'before' })).result === 'b', 20_000)

    const spinApp = (await t.json(['app', 'install', EDGE_WASM, '--node', 'a'])).applicationId as string
    const spinners: string[] = []
    for (let i = 0; i < 4; i++) spinners.push((await a.call<{ contextId: string }>('context.create', { group: c.groupId, application: spinApp })).contextId)
    const before = await Promise.all(spinners.map((s) => a.call<{ rootHash: string; deltas: number }>('context.get', { context: s })))

    // four runaways, each replaced as soon as it ends, so that four are in flight throughout (on a
    // client that waits longer than their deadline)
    long = new RpcClient(join(t.nodeDir('a'), 'merod.sock'), { timeoutMs: 60_000 })
    let inFlight = 0
    let stop = false
    const outcomes: string[] = []
    const runaways: Promise<void>[] = []
    const keep = (context: string): Promise<void> => {
      inFlight++
      return long!.call('context.execute', { context, method: 'spin', args: {} }).then(
        () => {
          inFlight--
          outcomes.push('returned')
        },
        (e: { kind?: string; message: string }) => {
          inFlight--
          outcomes.push(e.kind ?? e.message)
          if (!stop) runaways.push(keep(context))
        },
      )
    }
    for (const s of spinners) runaways.push(keep(s))

    // each answer counts only if all four were in flight when it was asked and when it came
    let statuses = 0
    let gets = 0
    for (let i = 0; i < 20; i++) {
      const asked = inFlight
      await a.call('node.status')
      if (asked === 4 && inFlight === 4) statuses++
      const r = await c.call<string | null>('a', 'get', { key: 'before' })
      if (asked === 4 && inFlight === 4 && r.result === 'b') gets++
    }
    await c.call('b', 'set', { key: 'during', value: 'gossiped' })
    let applied = false
    await waitFor(async () => {
      const r = await c.call<string | null>('a', 'get', { key: 'during' })
      applied = r.result === 'gossiped' && inFlight === 4
      return r.result === 'gossiped'
    }, 30_000)
    expect({ statuses, gets, applied, inFlight }).toEqual({ statuses: 20, gets: 20, applied: true, inFlight: 4 })

    stop = true
    await waitFor(async () => {
      await Promise.all(runaways)
      return inFlight === 0
    }, 60_000)
    // every runaway ended at its deadline, a typed error, and wrote nothing (spin writes a key first)
    expect(outcomes.length).toBeGreaterThanOrEqual(4)
    expect(new Set(outcomes)).toEqual(new Set(['Timeout']))
    const after = await Promise.all(spinners.map((s) => a.call<{ rootHash: string; deltas: number }>('context.get', { context: s })))
    expect(after.map((m) => [m.rootHash, m.deltas])).toEqual(before.map((m) => [m.rootHash, m.deltas]))
    // and the node is consistent: the shared context converges, and calls still run
    await waitFor(() => c.converged(['a', 'b']), 20_000)
    await c.call('a', 'set', { key: 'after', value: 'a' })
    await waitFor(async () => (await c.call<string | null>('b', 'get', { key: 'after' })).result === 'a', 20_000)
  }, 180_000)
})
