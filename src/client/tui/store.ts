import type { NodeEvent } from '../../core/node/events.js'
import { initialState, reduce, type Action, type WatchState } from './model.js'

export interface WatchStoreOptions {
  /** Events are applied in batches, at most once per this many ms (default 100). */
  flushMs?: number
  logCap?: number
  nodeName?: string
  /** Called with every flushed batch (after it was applied), e.g. to refresh stale RPC reads. */
  onFlush?: (events: NodeEvent[]) => void
}

/**
 * Holds the watch state outside React (read with useSyncExternalStore). Streamed events are
 * buffered and applied in one reducer call per flush window, so a burst of 1,000 events a second
 * costs ten renders, not a thousand; keys and connection changes apply at once.
 */
export class WatchStore {
  private state: WatchState
  private pending: NodeEvent[] = []
  private timer?: NodeJS.Timeout
  private lastFlush = 0
  private readonly listeners = new Set<() => void>()
  private readonly flushMs: number
  private readonly onFlush?: (events: NodeEvent[]) => void

  constructor(opts: WatchStoreOptions = {}) {
    this.flushMs = opts.flushMs ?? 100
    this.onFlush = opts.onFlush
    this.state = initialState({ logCap: opts.logCap, nodeName: opts.nodeName })
  }

  readonly getState = (): WatchState => this.state

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  dispatch(action: Action): void {
    const next = reduce(this.state, action)
    if (next === this.state) return
    this.state = next
    for (const l of this.listeners) l()
  }

  /** Buffers an event; it is applied at the next flush (leading edge when the stream was idle). */
  pushEvent(event: NodeEvent): void {
    this.pending.push(event)
    if (this.timer) return
    const wait = Math.max(0, this.lastFlush + this.flushMs - Date.now())
    this.timer = setTimeout(() => this.flush(), wait)
  }

  get pendingCount(): number {
    return this.pending.length
  }

  /** Applies every buffered event now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.lastFlush = Date.now()
    if (this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    this.dispatch({ type: 'events', events: batch })
    this.onFlush?.(batch)
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.pending = []
    this.listeners.clear()
  }
}
