import { Emitter } from '../primitives/emitter.js'
import { MeroError } from '../primitives/errors.js'
import type { ReplicationEvents, SyncScope } from './events.js'
import { peerLacks } from './group-sync.js'

/**
 * Sync sessions with peers, for the groups or the contexts of one replicator (DESIGN §9: "bounded
 * in number and time, retried with backoff, and their status is visible"):
 *
 * - `schedule` debounces: one pending session per group or context, whatever asks for it, at the
 *   soonest time asked and with the peer that asked for it; with a `stillWanted` condition it runs
 *   only if (any of) the conditions still hold when the delay is over. A request made while a session of the same key runs waits for that session to end (the
 *   session may have read the peer's heads before what the request is about).
 * - One session per key at a time; at most `maxConcurrent` at once: above that a session is
 *   refused and scheduled again 200 ms later.
 * - A failed session is retried with backoff (200 ms doubling, up to 10 s, 5 times), unless the
 *   peer refused us (NotAuthorized); a peer without a replica (`peerLacks`) is no failure.
 * - Each session is reported (`events`: sync.started, sync.finished) and its outcome kept per key.
 *
 * Keys are the hex of the group or context id.
 */
export interface SessionResult {
  fetched: number
  /** How the session synced (contexts: snapshot, deltas, by-id). */
  method?: string
}

export interface SyncOutcome {
  at: number
  peerId: string
  ok: boolean
  method: string
  fetched: number
  durationMs: number
  error?: string
}

export interface SessionSchedulerOptions<R extends SessionResult> {
  scope: SyncScope
  maxConcurrent: number
  /** One session with a peer. */
  run: (key: string, peerId: string) => Promise<R>
  /** The method reported when the peer holds no replica (contexts say 'none'). */
  skippedMethod?: string
}

const MAX_RETRIES = 5
const BUSY_RETRY_MS = 200

interface Pending {
  timer: NodeJS.Timeout
  /** When it fires (Date.now() ms). */
  due: number
  /** Why the session is wanted: any condition that still holds, or always. */
  wanted: (() => boolean)[] | 'always'
}

export class SessionScheduler<R extends SessionResult> {
  /** Sessions started and finished. */
  readonly events = new Emitter<ReplicationEvents>()
  private readonly scheduled = new Map<string, Pending>()
  /** The session running per key: one at a time, and requests made meanwhile wait for it. */
  private readonly running = new Map<string, Promise<R>>()
  private readonly failures = new Map<string, number>()
  private readonly last = new Map<string, SyncOutcome>()
  private readonly lastFetch = new Map<string, SyncOutcome>()
  private active = 0
  private stopped = false

  constructor(private readonly opts: SessionSchedulerOptions<R>) {}

  stop(): void {
    this.stopped = true
    for (const s of this.scheduled.values()) clearTimeout(s.timer)
    this.scheduled.clear()
  }

  /** Debounced, bounded session with a peer (see the class comment). */
  schedule(key: string, peerId: string, reason: string, delayMs = 20, stillWanted?: () => boolean): void {
    if (this.stopped) return
    const pending = this.scheduled.get(key)
    let wanted: Pending['wanted'] = stillWanted ? [stillWanted] : 'always'
    if (pending) {
      // many conditions at once (a burst of deltas missing parents): then it just runs
      if (pending.wanted !== 'always') pending.wanted = stillWanted && pending.wanted.length < 16 ? [...pending.wanted, stillWanted] : 'always'
      // a sooner request (a peer announced what we lack) does not wait behind a later one (a
      // retry backing off): the session runs at the sooner time, with the peer that asked
      if (Date.now() + delayMs >= pending.due) return
      clearTimeout(pending.timer)
      wanted = pending.wanted
    }
    const fire = (): void => {
      const running = this.running.get(key)
      if (running) return void running.catch(() => undefined).then(fire)
      this.scheduled.delete(key)
      if (this.stopped || (entry.wanted !== 'always' && !entry.wanted.some((w) => w()))) return
      void this.catchUp(key, peerId, reason).catch(() => undefined)
    }
    const entry: Pending = { wanted, due: Date.now() + delayMs, timer: setTimeout(fire, delayMs) }
    entry.timer.unref()
    this.scheduled.set(key, entry)
  }

  /** A session with one peer now, after the session of the same key already running, if any. */
  async catchUp(key: string, peerId: string, reason: string): Promise<R> {
    for (let p = this.running.get(key); p; p = this.running.get(key)) await p.catch(() => undefined)
    if (this.active >= this.opts.maxConcurrent) {
      this.schedule(key, peerId, reason, BUSY_RETRY_MS)
      throw new MeroError('Unavailable', 'too many sync sessions; retrying')
    }
    const session = this.runSession(key, peerId, reason)
    this.running.set(key, session)
    try {
      return await session
    } finally {
      if (this.running.get(key) === session) this.running.delete(key)
    }
  }

  /** A session now with each of `peers` in turn (SyncGroup, SyncContext): what they gave, and who failed. */
  async syncNow(key: string, peers: string[]): Promise<{ peers: number; fetched: number; errors: string[] }> {
    let fetched = 0
    const errors: string[] = []
    for (const p of peers) {
      try {
        fetched += (await this.catchUp(key, p, 'requested')).fetched
      } catch (e) {
        errors.push(`${p}: ${(e as Error).message}`)
      }
    }
    return { peers: peers.length, fetched, errors }
  }

  /** Like catchUp, but a session already running on the key is waited for and stands for this one. */
  joinOrRun(key: string, peerId: string, reason: string): Promise<R> {
    return this.running.get(key) ?? this.catchUp(key, peerId, reason)
  }

  isRunning(key: string): boolean {
    return this.running.has(key)
  }

  /** Failed sessions in a row. */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0
  }

  /** The last session's outcome, and the last one that fetched something. */
  outcomes(key: string): { lastSync?: SyncOutcome; lastFetch?: SyncOutcome } {
    const lastSync = this.last.get(key)
    const lastFetch = this.lastFetch.get(key)
    return { ...(lastSync ? { lastSync } : {}), ...(lastFetch ? { lastFetch } : {}) }
  }

  private async runSession(key: string, peerId: string, reason: string): Promise<R> {
    const scope = this.opts.scope
    const id = Buffer.from(key, 'hex')
    this.active++
    const started = Date.now()
    this.events.emit('sync.started', { scope, id, peerId, reason })
    try {
      const r = await this.opts.run(key, peerId)
      this.failures.delete(key)
      const durationMs = Date.now() - started
      const outcome: SyncOutcome = { at: Date.now(), peerId, ok: true, method: r.method ?? 'none', fetched: r.fetched, durationMs }
      this.last.set(key, outcome)
      if (r.fetched > 0) this.lastFetch.set(key, outcome)
      this.events.emit('sync.finished', { scope, id, peerId, ok: true, fetched: r.fetched, durationMs, ...(r.method !== undefined ? { method: r.method } : {}) })
      return r
    } catch (e) {
      const error = (e as Error).message
      if (peerLacks(e)) {
        // no replica: nothing to fetch there, and nothing to retry or to show as a failure
        const method = this.opts.skippedMethod
        this.events.emit('sync.finished', { scope, id, peerId, ok: true, fetched: 0, durationMs: Date.now() - started, ...(method ? { method } : {}), skipped: error })
        throw e
      }
      const n = (this.failures.get(key) ?? 0) + 1
      this.failures.set(key, n)
      const durationMs = Date.now() - started
      this.last.set(key, { at: Date.now(), peerId, ok: false, method: 'none', fetched: 0, durationMs, error })
      this.events.emit('sync.finished', { scope, id, peerId, ok: false, fetched: 0, durationMs, error })
      // a peer that refuses us (we are not a member, or may not read) is not retried
      const refused = (e as MeroError).kind === 'NotAuthorized'
      if (!refused && n <= MAX_RETRIES && !this.stopped) this.schedule(key, peerId, `retry ${n}`, Math.min(200 * 2 ** n, 10_000))
      throw e
    } finally {
      this.active--
    }
  }
}
