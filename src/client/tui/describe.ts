import type { NodeEvent } from '../../core/node/events.js'

export { describeEvent, type EventDescription, type EventLevel } from '../../events/describe-event.js'

/** `12:34:56.789` in local time. */
export function clockTime(ts: number): string {
  const d = new Date(ts)
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/**
 * The shape every streamed event must have before anything reads it (it comes from outside the
 * process): an object with a string type and numeric seq and ts.
 */
export function isNodeEvent(v: unknown): v is NodeEvent {
  if (typeof v !== 'object' || v === null) return false
  const o = v as Record<string, unknown>
  return typeof o.type === 'string' && o.type.length > 0 && Number.isFinite(o.seq) && Number.isFinite(o.ts)
}
