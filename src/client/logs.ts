import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { style } from './render.js'

/** Reading merod.log (pino JSON lines) for `meroctl node logs`. */
export interface LogRecord {
  level: number
  time: number
  msg?: string
  [k: string]: unknown
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname'])

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

export function formatLogRecord(r: LogRecord | { raw: string }): string {
  if ('raw' in r) return String(r.raw)
  const level = LEVELS[r.level] ?? String(r.level)
  const paint = r.level >= 50 ? style.red : r.level >= 40 ? style.yellow : r.level <= 20 ? style.dim : (t: string) => t
  const extra = Object.entries(r)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ')
  const time = new Date(r.time).toISOString()
  return `${style.dim(time)} ${paint(level.padEnd(5))} ${r.msg ?? ''}${extra ? ` ${style.dim(extra)}` : ''}`
}

/** The last `n` lines of a file, reading backwards in blocks (logs can be large). */
export function tailLines(path: string, n: number): { lines: string[]; size: number } {
  if (!existsSync(path)) return { lines: [], size: 0 }
  const size = statSync(path).size
  const fd = openSync(path, 'r')
  try {
    const block = 64 * 1024
    let pos = size
    let text = ''
    while (pos > 0 && text.split('\n').length <= n + 1) {
      const len = Math.min(block, pos)
      pos -= len
      const buf = Buffer.alloc(len)
      readSync(fd, buf, 0, len, pos)
      text = buf.toString('utf8') + text
    }
    const lines = text.split('\n').filter((l) => l.length > 0)
    return { lines: lines.slice(-n), size }
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
