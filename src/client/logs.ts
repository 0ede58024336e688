import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { MeroError } from '../core/primitives/errors.js'
import { parseDuration } from './duration.js'
import { style } from './render.js'

/** Reading merod.log (pino JSON lines) for `meroctl node logs`. */
export interface LogRecord {
  level: number
  time: number
  msg?: string
  [k: string]: unknown
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
export const LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
export const levelNumber = (name: string): number => (LEVEL_NAMES.indexOf(name as (typeof LEVEL_NAMES)[number]) + 1) * 10
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname'])
/** The fields of an operator-log line (it has `event`) shown without --wide: the cause of a warning. */
const CAUSES = ['error', 'reason', 'err']

/** A parsed line; lines that are not JSON (e.g. a crash trace on stderr) become `{raw}`. */
export function parseLogLine(line: string): LogRecord | { raw: string } {
  try {
    const v = JSON.parse(line) as LogRecord
    if (typeof v === 'object' && v && typeof v.level === 'number') return v
  } catch {
    // not a JSON line
  }
  return { raw: line }
}

/**
 * `2025-01-02 10:11:12.345 INFO  msg`. An operator-log line (it has `event`) tells its story in
 * the message, with its full ids as fields: those are shown with `wide` only (the cause of a
 * warning always is, unless the message holds it already). Other lines show their fields.
 */
export function formatLogRecord(r: LogRecord | { raw: string }, wide = false): string {
  if ('raw' in r) return String(r.raw)
  const level = LEVELS[r.level] ?? String(r.level)
  const paint = r.level >= 50 ? style.red : r.level >= 40 ? style.yellow : r.level <= 20 ? style.dim : (t: string) => t
  const msg = r.msg ?? ''
  const shown = (k: string, v: unknown) => !OMIT.has(k) && (wide || !('event' in r) || (CAUSES.includes(k) && !msg.includes(text(v))))
  const extra = Object.entries(r)
    .filter(([k, v]) => shown(k, v))
    .map(([k, v]) => `${k}=${text(v)}`)
    .join(' ')
  const time = new Date(r.time).toISOString().replace('T', ' ').replace('Z', '')
  return `${style.dim(time)} ${paint(level.padEnd(5))} ${msg}${extra ? ` ${style.dim(extra)}` : ''}`
}

const text = (v: unknown): string => (typeof v === 'string' ? v : (v as { message?: string })?.message ?? JSON.stringify(v))

export interface LogFilter {
  /** Lowest level shown (pino's numbers: 30 is info). */
  minLevel?: number
  /** Only records at or after this time (ms). */
  since?: number
}

export function matches(r: LogRecord | { raw: string }, f: LogFilter): boolean {
  if ('raw' in r) return f.minLevel === undefined && f.since === undefined
  return (f.minLevel === undefined || r.level >= f.minLevel) && (f.since === undefined || r.time >= f.since)
}

/**
 * The last `n` records matching the filter, reading backwards in blocks (logs can be large);
 * stops at the first record older than `since` (the log is in time order).
 */
export function tailRecords(path: string, n: number, filter: LogFilter = {}): { records: (LogRecord | { raw: string })[]; size: number } {
  if (!existsSync(path)) return { records: [], size: 0 }
  const size = statSync(path).size
  const fd = openSync(path, 'r')
  const found: (LogRecord | { raw: string })[] = []
  try {
    const block = 64 * 1024
    let pos = size
    let carry = '' // the start of a line whose beginning lies in the previous block
    let done = n === 0
    while (pos > 0 && !done) {
      const len = Math.min(block, pos)
      pos -= len
      const buf = Buffer.alloc(len)
      readSync(fd, buf, 0, len, pos)
      const lines = (buf.toString('utf8') + carry).split('\n')
      carry = pos > 0 ? lines.shift()! : ''
      for (let i = lines.length - 1; i >= 0 && !done; i--) {
        if (!lines[i]) continue
        const r = parseLogLine(lines[i]!)
        if (filter.since !== undefined && !('raw' in r) && r.time < filter.since) done = true
        else if (matches(r, filter)) done = found.unshift(r) >= n
      }
    }
    return { records: found.slice(-n || found.length), size }
  } finally {
    closeSync(fd)
  }
}

/** Reads what was appended since `offset`; complete lines only. */
export function readAppended(path: string, offset: number): { lines: string[]; offset: number } {
  if (!existsSync(path)) return { lines: [], offset: 0 }
  const size = statSync(path).size
  if (size < offset) offset = 0 // truncated or replaced
  if (size === offset) return { lines: [], offset }
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(size - offset)
    readSync(fd, buf, 0, buf.length, offset)
    const text = buf.toString('utf8')
    const lastNewline = text.lastIndexOf('\n')
    if (lastNewline === -1) return { lines: [], offset }
    return { lines: text.slice(0, lastNewline).split('\n').filter(Boolean), offset: offset + Buffer.byteLength(text.slice(0, lastNewline + 1)) }
  } finally {
    closeSync(fd)
  }
}

/** `--since`: a duration back from now (90s, 15m, 2h, 7d) or a date (2025-01-02, 2025-01-02T10:00). */
export function parseSince(text: string, now = Date.now()): number {
  if (/^\d+\s*[smhdw]$/.test(text.trim())) return now - parseDuration(text) * 1000
  const t = Date.parse(text)
  if (Number.isNaN(t)) throw new MeroError('InvalidInput', `--since '${text}' is neither a duration (e.g. 15m, 2h, 1d) nor a date (e.g. 2025-01-02T10:00)`)
  return t
}
