import { createRequire } from 'node:module'
import { shortId } from '../core/primitives/human.js'

/**
 * Human output helpers shared by every command (DESIGN §10): tables, aligned key/value lines,
 * durations and colour — colour only on a TTY and never under NO_COLOR.
 */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb'
}

const wrap = (open: number, close: number) => (text: string, stream?: NodeJS.WriteStream) =>
  colorEnabled(stream) ? `\u001B[${open}m${text}\u001B[${close}m` : text

export const style = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
}

type Cell = string | number | boolean | null | undefined

function cellText(c: Cell): string {
  if (c === null || c === undefined || c === '') return '-'
  return String(c)
}

const require = createRequire(import.meta.url)

/** The width tables fit: the terminal's, else $COLUMNS, else 80. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number {
  if (stream.isTTY && stream.columns) return stream.columns
  const env = Number(process.env.COLUMNS)
  return Number.isInteger(env) && env >= 20 ? env : 80
}

const ANSI = /\u001B\[[0-9;]*m/g
const visible = (t: string) => t.replace(ANSI, '').length

/** A column narrower than this is not cut further (the table then runs wider). */
const MIN_CUT_WIDTH = 8

/**
 * Column widths that fit `width`: the widest columns are cut first (their cells end in `…`),
 * none below MIN_CUT_WIDTH. Widths include cli-table3's one-space padding on each side.
 */
export function fitColumns(natural: number[], width: number): number[] {
  const cols = natural.map((w) => w + 2)
  const total = () => cols.reduce((a, b) => a + b, 0) + cols.length + 1 // borders
  while (total() > width) {
    let widest = -1
    for (let i = 0; i < cols.length; i++) if (cols[i]! > MIN_CUT_WIDTH + 2 && (widest < 0 || cols[i]! > cols[widest]!)) widest = i
    if (widest < 0) break
    cols[widest] = Math.max(MIN_CUT_WIDTH + 2, cols[widest]! - (total() - width))
  }
  return cols
}

/**
 * A table with a header row; `empty` (or `(none)`) when there are no rows. It fits the terminal
 * (80 columns when there is none) unless `wide`; ids are shortened by the commands before they
 * get here (see `ids`). cli-table3 is loaded on first use.
 */
export function table(head: string[], rows: Cell[][], opts: { empty?: string; wide?: boolean; width?: number } = {}): string {
  if (rows.length === 0) return opts.empty ?? '(none)'
  const Table = require('cli-table3') as new (o: object) => { push(...r: string[][]): void; toString(): string }
  const colored = colorEnabled()
  const texts = rows.map((r) => r.map(cellText))
  const natural = head.map((h, i) => Math.max(h.length, ...texts.map((r) => visible(r[i] ?? ''))))
  const t = new Table({
    head: head.map((h) => (colored ? style.bold(h) : h)),
    // cli-table3 colours its borders and head unless told otherwise
    style: colored ? { head: [], border: ['grey'] } : { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...(opts.wide ? {} : { colWidths: fitColumns(natural, opts.width ?? terminalWidth()) }),
  })
  t.push(...texts)
  return t.toString()
}

/** How ids appear in human output: the one shortening rule, or whole with --wide. */
export function ids(wide: boolean | undefined): (id: string) => string {
  return wide ? (id) => id : shortId
}

/** Aligned `label  value` lines; arrays are shown one per line under their label. */
export function keyValue(pairs: [string, Cell | Cell[]][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length))
  const lines: string[] = []
  for (const [k, v] of pairs) {
    const label = style.dim(k.padEnd(width))
    if (Array.isArray(v)) {
      if (v.length === 0) lines.push(`${label}  -`)
      v.forEach((item, i) => lines.push(`${i === 0 ? label : ' '.repeat(width)}  ${cellText(item)}`))
    } else {
      lines.push(`${label}  ${cellText(v)}`)
    }
  }
  return lines.join('\n')
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

export { formatBytes, formatMs, shortId } from '../core/primitives/human.js'

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}
