import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster } from '../helpers/cluster.js'
import { MEROCTL, TestHome, waitFor } from '../helpers/harness.js'
import { NetLab } from '../helpers/netns.js'

/**
 * Issue 17, item 8: three daemons, each in its own network namespace on a private switch, split
 * 2/1 by a real partition (their links on separate bridges: packets dropped both ways). Both
 * sides write while apart, to their own keys and to the same keys; after the heal all three hold
 * every write and the same root hash, and the groups' governance state agrees too.
 */
describe('partition and heal, three daemons in network namespaces', () => {
  const t = new TestHome()
  let lab: NetLab
  let c: Cluster

  beforeAll(async () => {
    lab = new NetLab()
    for (const n of ['a', 'b', 'c']) lab.addNode(n)
    c = new Cluster(t, {
      listen: (n) => `/ip4/${lab.address(n)}/tcp/0`,
      run: (n, args) => lab.run(n, process.execPath, [MEROCTL, ...args], 30_000, { ...process.env, NO_COLOR: '1', MERO_HOME: undefined, MERO_NODE: undefined }),
    })
    for (const n of ['a', 'b', 'c']) await c.start(n)
    await c.share('a', ['b', 'c'])
    await c.call('a', 'set', { key: 'before', value: 'a' })
    await waitFor(() => c.converged(['a', 'b', 'c']), 15_000)
  }, 120_000)

  afterAll(async () => {
    c?.close()
    await t.cleanup() // the daemons first: then their namespaces
    lab?.destroy()
  })

  const get = async (n: string, key: string) => (await c.call<string | null>(n, 'get', { key })).result

  it('both sides write while apart; after the heal every write is everywhere and the root hashes agree', async () => {
    // the daemons listen on their namespace's address only: the lab's network is what joins them
    const status = await c.rpc.c!.call<{ listenAddresses: string[]; peers: number }>('node.status')
    expect(status.listenAddresses.every((a) => a.startsWith(`/ip4/${lab.address('c')}/`))).toBe(true)
    expect(status.peers).toBe(2)

    lab.partition(['a', 'b'], ['c'])
    for (let i = 0; i < 10; i++) {
      await c.call('a', 'set', { key: `ab-${i}`, value: 'a' })
      await c.call('c', 'set', { key: `c-${i}`, value: 'c' })
    }
    await c.call('b', 'set', { key: 'shared', value: 'from b, apart' })
    await c.call('c', 'set', { key: 'shared', value: 'from c, apart' })
    await c.rpc.c!.call('group.setAlias', { group: c.groupId, alias: 'split-c' })
    // one side's writes reach the other of the same side, and not across
    await waitFor(async () => (await get('b', 'ab-9')) === 'a', 10_000)
    await new Promise((r) => setTimeout(r, 2_500)) // two heartbeats and more
    expect(await get('c', 'ab-9')).toBeNull()
    expect(await get('a', 'c-9')).toBeNull()
    expect(await c.converged(['a', 'c'])).toBe(false)

    lab.heal()
    await waitFor(() => c.converged(['a', 'b', 'c']), 60_000, 250)
    for (const n of ['a', 'b', 'c']) {
      const entries = (await c.call<Record<string, string>>(n, 'entries')).result
      for (let i = 0; i < 10; i++) {
        expect(entries[`ab-${i}`]).toBe('a')
        expect(entries[`c-${i}`]).toBe('c')
      }
      expect(entries.before).toBe('a')
    }
    // the concurrent writes of one key resolve the same way everywhere
    const shared = await Promise.all(['a', 'b', 'c'].map((n) => get(n, 'shared')))
    expect(new Set(shared).size).toBe(1)
    expect(['from b, apart', 'from c, apart']).toContain(shared[0])
    // and the governance op made apart reached the others
    await waitFor(async () => {
      const views = await Promise.all(['a', 'b', 'c'].map((n) => c.rpc[n]!.call<{ stateHash: string; alias?: string | null }>('group.get', { group: c.groupId })))
      return new Set(views.map((v) => v.stateHash)).size === 1 && views.every((v) => v.alias === 'split-c')
    }, 30_000, 250)
  }, 150_000)
})
