import { describeEvent, type EventNames } from '../events/describe-event.js'
import type { EventBus } from '../core/node/event-bus.js'
import type { NodeEvent } from '../core/node/events.js'
import { shortId } from '../core/primitives/human.js'
import type { Logger } from './logging.js'

type Level = 'debug' | 'info' | 'warn' | 'error'

/** Ops whose effect has an event of its own (member added, group created, ...): their op line is debug. */
const OPS_WITH_THEIR_OWN_LINE = new Set(['GroupCreated', 'GroupDeleted', 'MemberAdded', 'MemberRemoved', 'MemberLeft', 'RoleSet', 'CapabilitiesSet'])

/** Events that are the node's hot path or a tick, never an operator's story. */
const NOT_LOGGED = new Set(['heartbeat', 'node.stopping', 'context.state.mutated', 'context.delta.received', 'context.delta.applied'])

export interface OperatorLogOptions {
  /** Rejected and rate-limited traffic is summarised per peer and reason once per window [10 s]. */
  summaryWindowMs?: number
  names?: EventNames
}

/**
 * The daemon's log for operators, told from the node's public event stream: one line per thing
 * that changed or happened (groups, members, roles, contexts, joins, invitations, peers, sync
 * sessions with their counts and time, GC runs), warnings and errors with their cause. Messages a
 * peer sent that validation refused, and traffic dropped at a limit, are summarised per peer and
 * reason once per window instead of a line each (a misbehaving peer must not flood the log).
 * Each record carries `event` (the event type) and the event's full ids as fields; the message
 * is the readable sentence with short ids.
 */
export class OperatorLog {
  private readonly windowMs: number
  private readonly pending = new Map<string, { peerId: string; what: string; kind: 'rejected' | 'rate_limited'; count: number; reasons: Map<string, number> }>()
  private timer?: NodeJS.Timeout
  private off?: () => void

  constructor(
    private readonly log: Logger,
    private readonly opts: OperatorLogOptions = {},
  ) {
    this.windowMs = opts.summaryWindowMs ?? 10_000
  }

  attach(events: EventBus): this {
    this.off = events.on((e) => this.onEvent(e))
    return this
  }

  /** Writes the pending summaries and stops listening. */
  detach(): void {
    this.off?.()
    this.flush()
  }

  private onEvent(e: NodeEvent): void {
    if (NOT_LOGGED.has(e.type)) return
    if (e.type === 'message.rejected') return this.summarise(e.peerId, `${e.topic} messages`, 'rejected', e.reason, 1)
    if (e.type === 'peer.rate_limited') return this.summarise(e.peerId, e.what, 'rate_limited', e.what, e.dropped)
    const level = levelOf(e)
    if (!this.log.isLevelEnabled(level)) return
    const { seq: _seq, ts: _ts, type, ...fields } = e as NodeEvent & Record<string, unknown>
    this.log[level]({ event: type, ...fields }, describeEvent(e, this.opts.names).text)
  }

  private summarise(peerId: string, what: string, kind: 'rejected' | 'rate_limited', reason: string, count: number): void {
    const key = `${kind}\0${peerId}\0${what}`
    let entry = this.pending.get(key)
    if (!entry) this.pending.set(key, (entry = { peerId, what, kind, count: 0, reasons: new Map() }))
    entry.count += count
    entry.reasons.set(reason, (entry.reasons.get(reason) ?? 0) + count)
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.windowMs)
      this.timer.unref()
    }
  }

  /** One warning per peer and kind of trouble since the last flush. */
  flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    for (const e of this.pending.values()) {
      const reasons = Object.fromEntries(e.reasons)
      const detail = [...e.reasons].map(([r, n]) => `${r} ×${n}`).join(', ')
      if (e.kind === 'rejected') {
        this.log.warn({ event: 'message.rejected', peerId: e.peerId, count: e.count, reasons }, `rejected ${e.count} ${e.what} from peer ${shortId(e.peerId)}: ${detail}`)
      } else {
        this.log.warn({ event: 'peer.rate_limited', peerId: e.peerId, count: e.count, reasons }, `rate-limited peer ${shortId(e.peerId)}: ${e.count} dropped (${detail})`)
      }
    }
    this.pending.clear()
  }
}

function levelOf(e: NodeEvent): Level {
  switch (e.type) {
    case 'group.op.applied':
      return OPS_WITH_THEIR_OWN_LINE.has(e.kind) ? 'debug' : 'info'
    case 'group.op.pending':
    case 'sync.started':
      return 'debug'
    case 'sync.finished':
      if (!e.ok) return 'warn'
      // a session that found nothing new is routine (heartbeats start them)
      return e.fetched > 0 ? 'info' : 'debug'
    case 'group.op.rejected':
    case 'group.equivocation':
    case 'context.delta.rejected':
      return 'warn'
    case 'gc.finished':
      return e.error ? 'error' : 'info'
    default:
      return 'info'
  }
}
