import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { Libp2pNetwork } from '../core/network/libp2p-network.js'
import type { MeroNode } from '../core/node/node.js'
import type { ProcessInstrumenter } from './instrument-process.js'

/** The daemon's Prometheus registry and its own RPC metrics; core parts register theirs here. */
export class DaemonMetrics {
  readonly registry = new Registry()
  readonly rpcRequests: Counter<'method' | 'outcome'>
  readonly rpcDuration: Histogram<'method'>
  readonly eventSubscribers: Gauge
  readonly eventSubscribersCutOff: Counter

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
    this.eventSubscribersCutOff = new Counter({
      name: 'merod_event_subscribers_cut_off_total',
      help: '/events streams closed by the daemon because their reader fell behind (8 MiB unread, or 100,000 events in one turn)',
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
    this.scraped('merod_gossip_dropped', 'Gossip messages dropped since start, by reason', () => ({ ...rep.dropped }), 'reason')
    this.scraped('merod_gossip_received', 'Group gossip messages received since start', () => rep.received)
    this.scraped('merod_group_ops_announced', 'Group ops not gossiped (no usable topic key: stale, or not held here) and announced to members over the sync stream since start', () => rep.announced)
    this.scraped('merod_peers', 'Connected peers', () => node.network?.connectedPeers().length ?? 0)
    this.watchKeys(node)
  }

  /** Key epochs: envelopes and keys refused, rotations this node issued, keys it asked peers for. */
  watchKeys(node: MeroNode): void {
    const ring = node.groups.keys
    if (ring) {
      this.scraped(
        'merod_keys_rejected',
        'Keys refused since start, by reason (unopenable: an envelope addressed to this node that does not open under its key, forged or sealed to another; wrong_binding: an envelope copied from another op; wrong_key: keys that are not those the rotation names; bad_component: a key from a peer that is not the one its rotation names)',
        () => ({ ...ring.faults }),
        'reason',
      )
    }
    const keeper = node.net?.keys
    if (keeper) {
      this.scraped('merod_key_rotations', 'KeyRotated ops this node issued since start (a scope went stale or lost a reader through a merge), by outcome', () => ({ issued: keeper.stats.rotations, failed: keeper.stats.rotationFailures }), 'outcome')
      this.scraped('merod_key_requests', 'Times this node asked peers for a key it lacked since start', () => keeper.stats.keyRequests)
    }
  }

  /** Context replication counters (read at scrape time). */
  watchContextReplication(node: MeroNode): void {
    const rep = node.contextReplicator
    if (!rep) return
    const remote = node.remoteDeltas
    this.scraped(
      'merod_context_deltas_dropped',
      'Context deltas dropped since start, by reason (rejected: the author may not write at its governance position)',
      () => ({ ...rep.dropped, rejected: remote.rejected, evicted: remote.evicted }),
      'reason',
    )
    this.scraped('merod_context_gossip_received', 'Context gossip messages received since start', () => rep.received)
    this.scraped('merod_context_deltas_published', 'Locally authored deltas published on context topics since start', () => rep.published)
  }

  /** Local commits: mutating calls and the deltas that carried them (several calls per delta when they coalesce). */
  watchContexts(node: MeroNode): void {
    const stats = node.contexts.stats
    this.scraped('merod_context_calls_committed', 'Mutating calls committed since start (calls that reach a context together share a delta: context.coalesce_calls)', () => stats.calls)
    this.scraped('merod_context_deltas_committed', 'Deltas this node authored and committed since start', () => stats.deltas)
  }

  /** Blob transfer counters (read at scrape time): served, refused, fetched, DHT announcements. */
  watchBlobs(node: MeroNode): void {
    const providers = node.blobProviders
    if (!providers) return
    const s = providers.stats
    this.scraped(
      'merod_blob_transfers',
      'Blob transfers since start over /mero/blob/1.0.0, by outcome (served, refused, fetched, fetch_failed)',
      () => ({ served: s.served, refused: s.refused, fetched: s.fetched, fetch_failed: s.fetchFailures }),
      'outcome',
    )
    this.scraped('merod_blob_transfer_bytes', 'Blob bytes since start over /mero/blob/1.0.0, by direction (served, fetched)', () => ({ served: s.servedBytes, fetched: s.fetchedBytes }), 'direction')
    this.scraped(
      'merod_blob_announcements',
      'DHT provider announcements of blobs since start, by outcome (ok, failed, pending, withdrawn: the blob was deleted here)',
      () => ({ ok: s.announced, failed: s.announceFailures, pending: providers.pendingAnnouncements, withdrawn: s.withdrawn }),
      'outcome',
    )
  }

  /** Group peers found through the DHT: announcements, lookups, dials (read at scrape time). */
  watchDiscovery(node: MeroNode): void {
    const discovery = node.groupDiscovery
    if (!discovery) return
    const s = discovery.stats
    this.scraped(
      'merod_group_discovery',
      "Group peer discovery through the DHT since start, by event (announced, announce_failed: a group's provider record; lookups; dialled, connected: providers dialled and reached)",
      () => ({ announced: s.announced, announce_failed: s.announceFailures, lookups: s.lookups, dialled: s.dialled, connected: s.connected }),
      'event',
    )
  }

  /** Garbage collection: runs, and what they collected, since start. */
  watchGc(node: MeroNode): void {
    const t = node.gc.totals
    this.scraped('merod_gc_runs', 'Garbage collection runs since start, by outcome (ok, failed)', () => ({ ok: t.runs, failed: t.failures }), 'outcome')
    this.scraped('merod_gc_collected', 'What garbage collection removed since start, by kind (tombstones, blobs, orphan_chunks)', () => ({ tombstones: t.tombstones, blobs: t.blobs, orphan_chunks: t.orphanChunks }), 'kind')
  }

  /**
   * What the node holds in memory, beside the process-wide figures of the default metrics
   * (merod_process_resident_memory_bytes, merod_nodejs_heap_size_used_bytes): RocksDB's budget
   * (its use cannot be read per column family through the binding: docs/memory.md), the compiled
   * module cache, and the queues of ops and deltas waiting for their parents, with what their caps
   * dropped.
   */
  watchMemory(node: MeroNode): void {
    const plan = node.store.memory
    this.scraped('merod_store_memory_budget_bytes', 'RocksDB memory budget (store.memory_mb), by part: write buffers (memtables, worst case) and block caches', () => ({ write_buffers: plan.writeBuffers, block_cache: plan.blockCache }), 'part')
    const runtime = node.runtime
    this.scraped('merod_module_cache_entries', 'Compiled application modules held in memory', () => runtime.cacheStats.entries)
    this.scraped('merod_module_cache_capacity', 'Compiled application modules held at most (the least recently used is dropped first)', () => runtime.cacheStats.capacity)
    this.scraped('merod_module_cache_evicted', 'Compiled modules dropped from the cache to make room since start (compiled again when called)', () => runtime.cacheStats.evicted)
    const contexts = node.contexts
    this.scraped('merod_cache_entries', 'Entries held by in-memory caches, by cache: text_documents (materialised texts, at most 8 per context), delta_depths (at most 4,096)', () => {
      const c = contexts.cacheStats()
      return { text_documents: c.textDocuments.entries, delta_depths: c.deltaDepths.entries }
    }, 'cache')
    this.scraped('merod_cache_dropped', 'Entries dropped from in-memory caches to stay within their capacity since start, by cache (read or built again when asked)', () => {
      const c = contexts.cacheStats()
      return { text_documents: c.textDocuments.dropped, delta_depths: c.deltaDepths.dropped }
    }, 'cache')
    const pool = node.executionPool
    this.scraped('merod_execution_workers', 'Worker threads running application methods now (each a V8 isolate of about 8 MB)', () => pool.running)
    this.scraped(
      'merod_execution_calls',
      'Method calls since start, by where they ran: inline (on the event loop), reattempted (stopped by time alone and tried inline again), worker, deadline (stopped at their wall-clock deadline)',
      () => ({ inline: pool.stats.inline, reattempted: pool.stats.reattempted, worker: pool.stats.calls, deadline: pool.stats.deadlines }),
      'where',
    )
    const groups = node.groups
    const remote = node.remoteDeltas
    this.scraped('merod_pending_items', 'Items waiting for their parents, by queue (group_ops: per group at most 10,000; context_deltas: per context at most 10,000)', () => ({ group_ops: groups.pendingTotal, context_deltas: remote.pendingTotal }), 'queue')
    this.scraped('merod_pending_evicted', 'Items dropped from a pending queue since start, by queue: evicted to make room (context deltas also when they expire); sync fetches them again', () => ({ group_ops: groups.pendingEvicted, context_deltas: remote.evicted }), 'queue')
  }

  /** Application instrumentation, which runs in a child process that exits once idle (instrument-process.ts). */
  watchInstrumentation(instrumenter: ProcessInstrumenter): void {
    const s = instrumenter.stats
    this.scraped('merod_instrumentations', 'Application modules sent to be instrumented since start (in a child process, never in merod)', () => s.jobs)
    this.scraped(
      'merod_instrumentation_processes',
      'Instrumenting child processes: started since start, and running now (0 once the work is done: binaryen never stays)',
      () => ({ started: s.processesStarted, running: instrumenter.running ? 1 : 0 }),
      'state',
    )
  }

  /** A gauge read at scrape time: one value, or (with `label`) one per value of that label. */
  private scraped(name: string, help: string, read: () => number | Record<string, number>, label?: string): void {
    new Gauge({
      name,
      help,
      labelNames: label ? [label] : [],
      registers: [this.registry],
      collect() {
        const v = read()
        if (typeof v === 'number') this.set(v)
        else for (const [k, n] of Object.entries(v)) this.set({ [label!]: k }, n)
      },
    })
  }

  /** The libp2p network's counters, mirrored on this registry from now on (those so far included). */
  watchNetwork(node: MeroNode): void {
    if (node.network instanceof Libp2pNetwork) node.network.metrics.register(this.registry)
  }
}
