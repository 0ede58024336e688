import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Libp2pNetwork } from '../../../src/core/network/libp2p-network.js'
import type { MeroNode } from '../../../src/core/node/node.js'
import { DaemonMetrics } from '../../../src/daemon/metrics.js'

describe("the daemon's /metrics registry and the network's counters", () => {
  it('mirrors the libp2p network counters, those counted before registration included', async () => {
    const network = new Libp2pNetwork({ seed: randomBytes(32), listen: [] })
    network.metrics.messageIn('mero/group/aa')
    network.metrics.dropped('rejected', 'mero/group/aa')
    const metrics = new DaemonMetrics()
    metrics.watchReplication({ network } as unknown as MeroNode)
    network.metrics.messageIn('mero/group/bb')
    network.metrics.messageOut('mero/ctx/cc')
    const text = await metrics.registry.metrics()
    expect(text).toContain('merod_gossip_messages_in_total{topic="mero/group"} 2')
    expect(text).toContain('merod_gossip_messages_out_total{topic="mero/ctx"} 1')
    expect(text).toContain('merod_network_dropped_total{reason="rejected",topic="mero/group"} 1')
  })

  it('counts the calls a node committed and the deltas that carried them', async () => {
    const stats = { calls: 3, deltas: 1 }
    const metrics = new DaemonMetrics()
    metrics.watchContexts({ contexts: { stats } } as unknown as MeroNode)
    stats.calls += 2
    stats.deltas++
    const text = await metrics.registry.metrics()
    expect(text).toContain('merod_context_calls_committed 5\n')
    expect(text).toContain('merod_context_deltas_committed 2\n')
  })

  it('registers nothing for a node without a network', async () => {
    const metrics = new DaemonMetrics()
    metrics.watchReplication({} as MeroNode)
    expect(await metrics.registry.metrics()).not.toContain('merod_gossip_messages_in_total')
  })
})
