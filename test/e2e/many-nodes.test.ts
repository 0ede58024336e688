import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster } from '../helpers/cluster.js'
import { MEROCTL, TestHome, waitFor } from '../helpers/harness.js'
import { NetLab } from '../helpers/netns.js'

const NODES = Array.from({ length: 12 }, (_, i) => `n${i + 1}`)
const LEFT = NODES.slice(0, 6)
const RIGHT = NODES.slice(6)
/** The context heartbeat of the cluster (Cluster sets it to 1 s): sets the pace of catch-up. */
const HEARTBEAT_MS = 1_000

/** Resident set size of a process, bytes (Linux). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) * 1024
}

/**
 * Issue 20, many nodes: twelve daemons, each in its own network namespace on one private switch,
 * share one group and one kv-store context. A write burst from four of them converges on all
 * twelve; a 6/6 partition in which both sides write converges once healed, each node catching
 * up in at most two sessions (no all-to-all sync storm; the time to converge is the bench's
 * figure); no daemon's resident memory passes 150 MB.
 */
describe('twelve daemons: one group, one context, a burst, a 6/6 partition healed', () => {
  const t = new TestHome()
  let lab: NetLab
  let c: Cluster

  beforeAll(async () => {
    lab = new NetLab()
    for (const n of NODES) lab.addNode(n)
    c = new Cluster(t, {
      listen: (n) => `/ip4/${lab.address(n)}/tcp/0`,
      run: (n, args) => lab.run(n, process.execPath, [MEROCTL, ...args], 60_000, { ...process.env, NO_COLOR: '1', MERO_HOME: undefined, MERO_NODE: undefined }),
    })
    // lean set-up (the suite's time): the daemons start four at a time (twelve CLI runs at once
    // starve a 2-core machine), and the members join by RPC
    for (let i = 0; i < NODES.length; i += 4) await Promise.all(NODES.slice(i, i + 4).map((n) => c.start(n)))
    await c.shareAtOnce('n1', NODES.slice(1))
  }, 300_000)

  afterAll(async () => {
    c?.close()
    await t.cleanup() // the daemons first: then their namespaces
    lab?.destroy()
  })

  it('a burst from four converges on all twelve; a healed 6/6 partition converges without a sync storm; RSS ≤ 150 MB', async () => {
    const writers = ['n1', 'n4', 'n7', 'n10']
    await Promise.all(writers.map(async (w) => {
      for (let i = 0; i < 25; i++) await c.call(w, 'set', { key: `burst-${w}-${i}`, value: w })
    }))
    await waitFor(() => c.converged(NODES), 30_000, 100)
    const entries = (await c.call<Record<string, string>>('n12', 'entries')).result
    for (const w of writers) for (let i = 0; i < 25; i++) expect(entries[`burst-${w}-${i}`]).toBe(w)

    lab.partition(LEFT, RIGHT)
    for (let i = 0; i < 5; i++) {
      await Promise.all([c.call('n2', 'set', { key: `left-${i}`, value: 'l' }), c.call('n8', 'set', { key: `right-${i}`, value: 'r' })])
    }
    await waitFor(() => c.converged(LEFT), 10_000, 100)
    await waitFor(() => c.converged(RIGHT), 10_000, 100)
    expect(await c.converged(['n1', 'n12'])).toBe(false)

    // the catch-up sessions each node starts for the context from the heal on
    const sessions = new Map<string, number>(NODES.map((n) => [n, 0]))
    const watching = new AbortController()
    await Promise.all(
      NODES.map(
        (n) =>
          new Promise<void>((opened) => {
            void c.rpc[n]!.events({ context: c.contextId, types: ['sync.started'] }, () => sessions.set(n, sessions.get(n)! + 1), watching.signal, opened).catch(() => undefined)
          }),
      ),
    )
    lab.heal()
    const healed = Date.now()
    await waitFor(() => c.converged(NODES), 30_000, 50)
    // (the time is bench/many-nodes.bench.mjs's figure, heal_to_converged, against two heartbeats)
    console.log(`many-nodes: healed 6/6 partition converged in ${Date.now() - healed} ms (heartbeat ${HEARTBEAT_MS} ms)`)
    // no all-to-all sync storm: hearing the six of the other side at once, a node catches up in
    // one session at a time, and what one session fetched is not fetched again from the others
    watching.abort()
    console.log(`many-nodes: catch-up sessions after the heal ${[...sessions.values()].join(' ')}`)
    for (const [n, count] of sessions) expect(count, n).toBeLessThanOrEqual(2)

    // every member announced the group in the DHT (the provider records that let a node that
    // knows one member reach the rest: the right side, which joined through n1, met in the DHT)
    const workers: number[] = []
    for (const n of NODES) {
      const metrics = await c.rpc[n]!.get('/metrics')
      expect(Number(/^merod_group_discovery\{event="announced"\} (\d+)/m.exec(metrics)?.[1] ?? 0), n).toBeGreaterThanOrEqual(1)
      workers.push(Number(/^merod_execution_workers (\d+)/m.exec(metrics)?.[1] ?? NaN))
    }

    const pids = await Promise.all(NODES.map((n) => c.rpc[n]!.call<{ pid: number }>('node.status').then((s) => s.pid)))
    const rss = pids.map(rssOf)
    console.log(`many-nodes: RSS MB ${rss.map((b) => (b / 1e6).toFixed(1)).join(' ')}; execution workers ${workers.join(' ')}`)
    for (const b of rss) expect(b).toBeLessThanOrEqual(150 * 1024 * 1024)
  }, 180_000)
})
