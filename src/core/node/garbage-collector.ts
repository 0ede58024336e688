import type { BlobStore } from '../blobs/blob-store.js'
import type { ApplicationStore } from '../context/applications.js'
import type { ContextManager } from '../context/context-manager.js'
import { fromBase58 } from '../primitives/encoding.js'
import type { Store } from '../store/store.js'
import type { EventBus } from './event-bus.js'

/**
 * Seed 001's GC actor: on a timer, collects CRDT tombstones older than the retention and deletes
 * blobs nothing holds any more (no holder, or only holders naming uninstalled applications).
 *
 * Work per run is bounded: at most `maxContextsPerRun` contexts (the next run resumes after the
 * last one, so every context is visited in turn) and `maxBlobsPerRun` blobs. Each run reports a
 * `gc.finished` event.
 */
export interface GarbageCollectorOptions {
  intervalMs: number
  tombstoneRetentionMs: number
  maxContextsPerRun?: number
  maxBlobsPerRun?: number
  /** Blobs younger than this are left alone (an install may be recording its application). */
  blobMinAgeMs?: number
  now?: () => number
}

export interface GarbageCollectorDeps {
  store: Store
  contexts: ContextManager
  blobs: BlobStore
  applications: ApplicationStore
  events: EventBus
}

export interface GcRun {
  tombstones: number
  blobs: number
  /** Chunk files no blob references (left by a crash), deleted. */
  orphanChunks: number
  contexts: number
  durationMs: number
  /** Whether work was left for the next run. */
  more: boolean
}

export class GarbageCollector {
  private timer?: NodeJS.Timeout
  /** The last context (base58) the previous run visited. */
  private cursor?: Buffer
  readonly totals = { runs: 0, tombstones: 0, blobs: 0, orphanChunks: 0, failures: 0 }
  lastRun?: GcRun & { at: number }

  constructor(
    private readonly d: GarbageCollectorDeps,
    private readonly opts: GarbageCollectorOptions,
  ) {}

  start(): void {
    if (this.timer) return
    // setInterval takes at most 2^31-1 ms (~24.8 days); beyond, Node would fire every millisecond
    this.timer = setInterval(() => this.runSafely(), Math.min(this.opts.intervalMs, 2 ** 31 - 1))
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now()
  }

  private runSafely(): void {
    try {
      this.run()
    } catch (e) {
      this.totals.failures++
      this.d.events.emit({ type: 'gc.finished', tombstones: 0, blobs: 0, orphanChunks: 0, contexts: 0, durationMs: 0, more: false, error: (e as Error).message })
    }
  }

  /** One bounded run (synchronous: it interleaves with no commit). */
  run(): GcRun {
    const started = performance.now()
    const now = this.now()
    const { ids, more: moreContexts } = this.nextContexts()
    let tombstones = 0
    for (const contextId of ids) {
      const batch = this.d.store.batch()
      const n = this.d.contexts.state(contextId).collectTombstones(now - this.opts.tombstoneRetentionMs, batch)
      if (n > 0) batch.write()
      tombstones += n
    }
    const blobs = this.d.blobs.collect({ isLive: (h) => !this.d.applications.isStaleHolder(h), limit: this.opts.maxBlobsPerRun ?? 256, minAgeMs: this.opts.blobMinAgeMs ?? 60_000, now })
    // 16 of the 256 chunk folders a run: every file is looked at within 16 runs
    const orphans = this.d.blobs.sweepOrphans({ minAgeMs: this.opts.blobMinAgeMs ?? 60_000, folders: 16, now })
    const run: GcRun = { tombstones, blobs: blobs.deleted, orphanChunks: orphans.deleted, contexts: ids.length, durationMs: Math.round(performance.now() - started), more: moreContexts || blobs.more }
    this.totals.runs++
    this.totals.tombstones += tombstones
    this.totals.blobs += blobs.deleted
    this.totals.orphanChunks += orphans.deleted
    this.lastRun = { ...run, at: now }
    this.d.events.emit({ type: 'gc.finished', ...run })
    return run
  }

  /** The contexts of this run: those after the cursor, wrapping around, at most the bound. */
  private nextContexts(): { ids: Buffer[]; more: boolean } {
    const all = this.d.contexts.list().map((m) => m.contextId).sort(Buffer.compare)
    const max = this.opts.maxContextsPerRun ?? 64
    if (all.length <= max) {
      this.cursor = undefined
      return { ids: all, more: false }
    }
    const start = this.cursor === undefined ? 0 : all.findIndex((id) => Buffer.compare(id, this.cursor!) > 0)
    const from = start < 0 ? 0 : start
    const ids = all.slice(from, from + max)
    this.cursor = ids[ids.length - 1]
    const more = from + max < all.length
    if (!more) this.cursor = undefined
    return { ids, more }
  }
}
