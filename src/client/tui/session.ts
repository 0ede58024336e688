import type { NodeEvent } from '../../core/node/events.js'
import { isNodeEvent } from './describe.js'
import { refreshNeeds, type RefreshNeeds } from './model.js'
import { loadContext, loadGroup, loadSnapshot, loadStatus, type Call } from './snapshot.js'
import type { WatchStore } from './store.js'

/** What the session needs from a daemon connection (RpcClient has this shape). */
export interface WatchSource {
  call(method: string, params?: Record<string, unknown>): Promise<unknown>
  events(query: { group?: string; context?: string }, onEvent: (event: Record<string, unknown> & { type: string }) => void, signal?: AbortSignal, onOpen?: () => void): Promise<void>
  close(): void
}

export interface WatchSessionOptions {
  /** Waits between reconnection attempts; the last one repeats. */
  backoffMs?: number[]
  /** Stale RPC reads are batched and re-read at most this often. */
  refreshMs?: number
  query?: { group?: string; context?: string }
}

export const DEFAULT_BACKOFF_MS = [250, 500, 1000, 2000, 4000]

/**
 * Keeps the store fed: subscribes to /events, loads the snapshot on every (re)connection,
 * re-reads what events made stale, and reconnects with backoff when the daemon goes away
 * (the header says so meanwhile). A fresh source per attempt: a restarted daemon is a new socket.
 */
export class WatchSession {
  private readonly abort = new AbortController()
  private readonly backoff: number[]
  private readonly refreshMs: number
  private source?: WatchSource
  private dirty: RefreshNeeds = emptyNeeds()
  private refreshTimer?: NodeJS.Timeout
  private refreshing = false

  constructor(
    private readonly store: WatchStore,
    private readonly connect: () => WatchSource,
    private readonly opts: WatchSessionOptions = {},
  ) {
    this.backoff = opts.backoffMs?.length ? opts.backoffMs : DEFAULT_BACKOFF_MS
    this.refreshMs = opts.refreshMs ?? 250
  }

  get stopped(): boolean {
    return this.abort.signal.aborted
  }

  /** Runs until stop(). */
  async run(): Promise<void> {
    let failures = 0
    while (!this.stopped) {
      const source = this.connect()
      this.source = source
      let opened = false
      let error: string
      try {
        await source.events(
          this.opts.query ?? {},
          (e) => {
            if (isNodeEvent(e)) this.store.pushEvent(e)
          },
          this.abort.signal,
          () => {
            opened = true
            failures = 0
            this.store.dispatch({ type: 'connection', state: 'connected' })
            void this.loadAll(source)
          },
        )
        error = opened ? 'the daemon closed the event stream' : 'the daemon refused the event stream'
      } catch (e) {
        error = (e as Error).message
      } finally {
        if (this.source === source) this.source = undefined
        source.close()
      }
      if (this.stopped) break
      this.store.flush()
      const wait = this.backoff[Math.min(failures, this.backoff.length - 1)]!
      failures++
      this.store.dispatch({ type: 'connection', state: 'disconnected', error, retryInMs: wait })
      await sleep(wait, this.abort.signal)
      if (this.stopped) break
      this.store.dispatch({ type: 'connection', state: 'reconnecting', error })
    }
  }

  stop(): void {
    this.abort.abort()
    if (this.refreshTimer) clearTimeout(this.refreshTimer)
    this.refreshTimer = undefined
  }

  /** Hook for WatchStore's onFlush: schedules re-reads of what the batch made stale. */
  eventsFlushed(events: NodeEvent[]): void {
    const n = refreshNeeds(events)
    const d = this.dirty
    d.status ||= n.status
    d.groupList ||= n.groupList
    d.contextList ||= n.contextList
    for (const g of n.groups) d.groups.add(g)
    for (const c of n.contexts) d.contexts.add(c)
    if (d.status || d.groupList || d.contextList || d.groups.size || d.contexts.size) this.scheduleRefresh()
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer || this.stopped) return
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined
      void this.refresh()
    }, this.refreshMs)
  }

  private async loadAll(source: WatchSource): Promise<void> {
    try {
      const snapshot = await loadSnapshot(callOf(source))
      if (!this.stopped) this.store.dispatch({ type: 'snapshot', snapshot })
    } catch {
      // the connection loop notices a daemon that went away; a failed read is retried on the next event
    }
  }

  private async refresh(): Promise<void> {
    const source = this.source
    if (!source || this.stopped) return
    if (this.refreshing) return this.scheduleRefresh()
    this.refreshing = true
    const d = this.dirty
    this.dirty = emptyNeeds()
    const call = callOf(source)
    try {
      if (d.groupList || d.contextList) {
        const snapshot = await loadSnapshot(call)
        if (!this.stopped) this.store.dispatch({ type: 'snapshot', snapshot })
        return
      }
      const [node, groups, contexts] = await Promise.all([
        d.status ? loadStatus(call) : undefined,
        Promise.all([...d.groups].map((g) => loadGroup(call, g))),
        Promise.all([...d.contexts].map((c) => loadContext(call, c))),
      ])
      if (this.stopped) return
      if (node) this.store.dispatch({ type: 'snapshot', snapshot: { node } })
      for (const g of groups) if (g) this.store.dispatch({ type: 'group.loaded', group: g })
      for (const c of contexts) if (c) this.store.dispatch({ type: 'context.loaded', context: c })
    } catch {
      // daemon gone or a read failed: the next connection reloads everything
    } finally {
      this.refreshing = false
    }
  }
}

function callOf(source: WatchSource): Call {
  return (method, params) => source.call(method, params ?? {})
}

function emptyNeeds(): RefreshNeeds {
  return { status: false, groupList: false, contextList: false, groups: new Set(), contexts: new Set() }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
