import { MeroError } from '../core/primitives/errors.js'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/** "90s", "15m", "12h", "7d", "2w" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim())
  if (!m) throw new MeroError('InvalidInput', `'${text}' is not a duration; use a number with s, m, h, d or w (e.g. 7d)`)
  const secs = Number(m[1]) * UNITS[m[2]!]!
  if (secs <= 0) throw new MeroError('InvalidInput', `a duration must be positive, got '${text}'`)
  return secs
}

/** `--timeout`: "500ms", "5s", "2m", or seconds as a bare number → milliseconds. */
export function parseTimeout(text: string, flag = '--timeout'): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim())
  if (!m) throw new MeroError('InvalidInput', `${flag} '${text}' is not a duration; use e.g. 500ms, 5s or 2m`)
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!
  if (ms <= 0) throw new MeroError('InvalidInput', `${flag} must be positive, got '${text}'`)
  return Math.round(ms)
}
