import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { Libp2pNetwork } from '../core/network/libp2p-network.js'
import type { MeroNode } from '../core/node/node.js'

/** The daemon's Prometheus registry and its own RPC metrics; core parts register theirs here. */
export class DaemonMetrics {
  readonly registry = new Registry()
  readonly rpcRequests: Counter<'method' | 'outcome'>
  readonly rpcDuration: Histogram<'method'>
  readonly eventSubscribers: Gauge

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'merod_' })
    this.rpcRequests = new Counter({
      name: 'merod_rpc_requests_total',
      help: 'JSON-RPC requests by method and outcome (ok, or the error kind)',
      labelNames: ['method', 'outcome'],
      registers: [this.registry],
    })
    this.rpcDuration = new Histogram({
      name: 'merod_rpc_duration_seconds',
      help: 'JSON-RPC handler duration',
      labelNames: ['method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    })
    this.eventSubscribers = new Gauge({
      name: 'merod_event_subscribers',
      help: 'Open /events streams',
      registers: [this.registry],
    })
  }

  /**
   * Gossip counters of the node's replication (read at scrape time), and the network layer's own
   * counters (merod_gossip_messages_{in,out}_total, merod_network_dropped_total,
   * merod_stream_requests_total).
   */
  watchReplication(node: MeroNode): void {
    this.watchNetwork(node)
    const rep = node.replicator
    if (!rep) return
    new Gauge({
      name: 'merod_gossip_dropped',
      help: 'Gossip messages dropped since start, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        for (const [reason, n] of Object.entries(rep.dropped)) this.set({ reason }, n)
      },
    })
    new Gauge({
      name: 'merod_gossip_received',
      help: 'Group gossip messages received since start',
      registers: [this.registry],
      collect() {
        this.set(rep.received)
      },
    })
    new Gauge({
      name: 'merod_peers',
      help: 'Connected peers',
      registers: [this.registry],
      collect() {
        this.set(node.network?.connectedPeers().length ?? 0)
      },
    })
  }
  /** Context replication counters (read at scrape time). */
  watchContextReplication(node: MeroNode): void {
    const rep = node.contextReplicator
    if (!rep) return
    const remote = node.remoteDeltas
    new Gauge({
      name: 'merod_context_deltas_dropped',
      help: 'Context deltas dropped since start, by reason (rejected: the author may not write at its governance position)',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        for (const [reason, n] of Object.entries(rep.dropped)) this.set({ reason }, n)
        this.set({ reason: 'rejected' }, remote.rejected)
        this.set({ reason: 'evicted' }, remote.evicted)
      },
    })
    new Gauge({
      name: 'merod_context_gossip_received',
      help: 'Context gossip messages received since start',
      registers: [this.registry],
      collect() {
        this.set(rep.received)
      },
    })
    new Gauge({
      name: 'merod_context_deltas_published',
      help: 'Locally authored deltas published on context topics since start',
      registers: [this.registry],
      collect() {
        this.set(rep.published)
      },
    })
  }

  /** The libp2p network's counters, mirrored on this registry from now on (those so far included). */
  watchNetwork(node: MeroNode): void {
    if (node.network instanceof Libp2pNetwork) node.network.metrics.register(this.registry)
  }
}
