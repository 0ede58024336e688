import { Emitter } from '../primitives/emitter.js'
import { MeroError } from '../primitives/errors.js'
import type { Startable } from '../primitives/lifecycle.js'
import type { ContextManager, ReadyDelta } from './context-manager.js'

/** Handler runs waiting at most; past it, the newest are dropped (and counted). */
export const MAX_PENDING_HANDLERS = 10_000

interface HandlerRun {
  contextId: Buffer
  deltaId: Buffer
  handler: string
  args: unknown
}

export interface HandlerEvents {
  /** A handler ran; its writes (if any) were committed as a delta of this node's. */
  ran: { contextId: Buffer; deltaId: Buffer; handler: string; ownDeltaId: string | null }
  /** A handler failed (it wrote nothing) or could not run. */
  failed: { contextId: Buffer; deltaId: Buffer; handler: string; error: MeroError }
}

/**
 * Event handlers (the original's `emit!((event, "handler"))`): an event may name a method that
 * the context's other members run when they apply the delta that carries it, with the event's
 * data as its arguments. The author never runs it; a receiver runs it once, when the delta is
 * applied (a delta is applied once: a duplicate is recognised before it). Each run is a call of
 * its own on the context (metered, bounded by the call limits), so what it writes is a delta of
 * this node's; the events a handler emits name no handler, so handlers never chain between nodes.
 * Runs go one after the other, in the order the deltas were applied.
 */
export class EventHandlers implements Startable {
  readonly events = new Emitter<HandlerEvents>()
  private readonly queue: HandlerRun[] = []
  private running?: Promise<void>
  private closed = false
  /** Since start: handler runs that succeeded, failed, and were dropped (the queue was full). */
  readonly stats = { ran: 0, failed: 0, dropped: 0 }

  constructor(
    private readonly d: { contexts: ContextManager; identity: Uint8Array },
  ) {}

  start(): void {
    this.closed = false
  }

  async stop(): Promise<void> {
    this.closed = true
    this.queue.length = 0
    await this.running
  }

  /** Queues the handlers of remote deltas just applied (the contexts' `applied` event). */
  applied(contextId: Buffer, deltas: readonly ReadyDelta[]): void {
    if (this.closed) return
    const self = Buffer.from(this.d.identity)
    for (const { verified } of deltas) {
      if (verified.wire.author.equals(self)) continue // the author never runs its own handlers
      for (const e of verified.events) {
        const handler = (e as { handler?: unknown }).handler
        if (typeof handler !== 'string') continue
        if (this.queue.length >= MAX_PENDING_HANDLERS) {
          this.stats.dropped++
          continue
        }
        this.queue.push({ contextId, deltaId: verified.id, handler, args: (e as { data?: unknown }).data ?? null })
      }
    }
    if (this.queue.length && !this.running) this.running = this.drain()
  }

  /** Settles once every queued handler has run (tests, and a node that stops). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length && !this.closed) {
        const run = this.queue.shift()!
        try {
          const r = await this.d.contexts.execute(run.contextId, run.handler, run.args, { handler: true })
          this.stats.ran++
          this.events.emit('ran', { contextId: run.contextId, deltaId: run.deltaId, handler: run.handler, ownDeltaId: r.deltaId })
        } catch (e) {
          this.stats.failed++
          const error = e instanceof MeroError ? e : new MeroError('Internal', (e as Error)?.message ?? String(e))
          this.events.emit('failed', { contextId: run.contextId, deltaId: run.deltaId, handler: run.handler, error })
        }
      }
    } finally {
      this.running = undefined
    }
  }
}
