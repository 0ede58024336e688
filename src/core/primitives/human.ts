/**
 * The one rule for shortening ids wherever people read them (tables, log lines, event lines,
 * the TUI): the first 6 characters, an ellipsis, the last 4. Peer ids all start with
 * `12D3KooW`, so the end is kept too. Full ids appear in `--json`, with `--wide`, and in the
 * log's fields.
 */
export function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 6)}…${id.slice(-4)}`
}

/** Bytes in binary units: `512 B`, `16.4 KiB`, `50.0 MiB`, `1.20 GiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`
}

/** A duration in the largest fitting unit: `340 ms`, `2.5 s`, `4m 10s`, `3h 5m`, `2d 4h`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  const s = Math.floor(ms / 1000)
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}
