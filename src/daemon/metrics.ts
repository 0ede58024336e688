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

  /** Blob transfer counters (read at scrape time): served, refused, fetched, DHT announcements. */
  watchBlobs(node: MeroNode): void {
    const providers = node.blobProviders
    if (!providers) return
    new Gauge({
      name: 'merod_blob_transfers',
      help: 'Blob transfers since start over /mero/blob/1.0.0, by outcome (served, refused, fetched, fetch_failed)',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        const s = providers.stats
        this.set({ outcome: 'served' }, s.served)
        this.set({ outcome: 'refused' }, s.refused)
        this.set({ outcome: 'fetched' }, s.fetched)
        this.set({ outcome: 'fetch_failed' }, s.fetchFailures)
      },
    })
    new Gauge({
      name: 'merod_blob_transfer_bytes',
      help: 'Blob bytes since start over /mero/blob/1.0.0, by direction (served, fetched)',
      labelNames: ['direction'],
      registers: [this.registry],
      collect() {
        this.set({ direction: 'served' }, providers.stats.servedBytes)
        this.set({ direction: 'fetched' }, providers.stats.fetchedBytes)
      },
    })
    new Gauge({
      name: 'merod_blob_announcements',
      help: 'DHT provider announcements of blobs since start, by outcome (ok, failed, pending)',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.set({ outcome: 'ok' }, providers.stats.announced)
        this.set({ outcome: 'failed' }, providers.stats.announceFailures)
        this.set({ outcome: 'pending' }, providers.pendingAnnouncements)
      },
    })
  }

  /** Garbage collection: runs, and what they collected, since start. */
  watchGc(node: MeroNode): void {
    const gc = node.gc
    new Gauge({
      name: 'merod_gc_runs',
      help: 'Garbage collection runs since start, by outcome (ok, failed)',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.set({ outcome: 'ok' }, gc.totals.runs)
        this.set({ outcome: 'failed' }, gc.totals.failures)
      },
    })
    new Gauge({
      name: 'merod_gc_collected',
      help: 'What garbage collection removed since start, by kind (tombstones, blobs)',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        this.set({ kind: 'tombstones' }, gc.totals.tombstones)
        this.set({ kind: 'blobs' }, gc.totals.blobs)
      },
    })
  }

  /** The libp2p network's counters, mirrored on this registry from now on (those so far included). */
  watchNetwork(node: MeroNode): void {
    if (node.network instanceof Libp2pNetwork) node.network.metrics.register(this.registry)
  }
}
