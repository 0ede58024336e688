import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster } from '../helpers/cluster.js'
import { MEROCTL, TestHome, waitFor } from '../helpers/harness.js'
import { NetLab } from '../helpers/netns.js'

interface Status {
  peerId: string
  peers: number
  network: { mdns: boolean }
}

/**
 * Issue 20, discovery: two daemons with `network.mdns = true` and no bootstrap peer, each in its
 * own network namespace on one private switch (DESIGN §11: the multicast stays on the lab's own
 * links, never on the machine's interfaces), find each other by mDNS and connect. Needs root for
 * the namespaces (CI runs as root).
 */
describe('mDNS discovery, two daemons in network namespaces', () => {
  const t = new TestHome()
  let lab: NetLab
  let c: Cluster

  beforeAll(async () => {
    lab = new NetLab()
    for (const n of ['a', 'b']) lab.addNode(n)
    c = new Cluster(t, {
      listen: (n) => `/ip4/${lab.address(n)}/tcp/0`,
      run: (n, args) => lab.run(n, process.execPath, [MEROCTL, ...args], 30_000, { ...process.env, NO_COLOR: '1', MERO_HOME: undefined, MERO_NODE: undefined }),
    })
    for (const n of ['a', 'b']) await c.start(n, (toml) => toml.replace('mdns = false', 'mdns = true'))
  }, 90_000)

  afterAll(async () => {
    c?.close()
    await t.cleanup() // the daemons first: then their namespaces
    lab?.destroy()
  })

  it('two nodes with mdns on and no bootstrap find each other and connect', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((n) => c.rpc[n]!.call<Status>('node.status')))
    expect(a!.network.mdns).toBe(true)
    await waitFor(async () => {
      const [pa, pb] = await Promise.all(['a', 'b'].map((n) => c.rpc[n]!.call<{ peers: { peerId: string }[] }>('peers.list')))
      return pa!.peers.some((p) => p.peerId === b!.peerId) && pb!.peers.some((p) => p.peerId === a!.peerId)
    }, 30_000, 200)
  }, 60_000)
})
