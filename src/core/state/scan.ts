import type { ScanRange } from '../runtime/host-state.js'
import type { Store } from '../store/store.js'
import { prefixUpperBound } from '../store/store.js'
import { indexPrefix } from './keys.js'

/**
 * A page of a collection's live entries in key order: keys in [lo, hi) (none: unbounded), the
 * first `offset` of them skipped, at most `limit` taken; `reverse` reads from the end. (A prefix
 * is the range [prefix, the prefix's successor).)
 */
export type { ScanRange }

/** The most entries one scan returns (as the original's index scans). */
export const MAX_SCAN_ENTRIES = 100_000

export interface IndexRow {
  sortKey: Buffer
  id: Buffer
}

/** A session's liveness changes of a collection's entries, by latin1 sort key. */
export type Overlay = ReadonlyMap<string, { sortKey: Buffer; id: Buffer; live: boolean }>

/** Index rows read per store scan: as many as the page still needs (skipped ones included), within these bounds. */
const MIN_PAGE = 64
const MAX_PAGE = 4096

/**
 * The rows of a page: the stored index of live children (column 'stateIndex', read in pages of
 * what the page still needs, so a page of 100 near the start reads about 100 rows however large
 * the collection),
 * merged with the session's own changes (an entry it made live or removed). Skipping `offset`
 * costs reading those rows.
 */
export function scanLive(store: Store, contextId: Buffer, parent: Buffer, overlay: Overlay, range: ScanRange): IndexRow[] {
  const limit = Math.min(range.limit, MAX_SCAN_ENTRIES)
  const out: IndexRow[] = []
  if (limit <= 0) return out
  const lo = range.lo && range.lo.length > 0 ? Buffer.from(range.lo) : undefined
  const hi = range.hi && range.hi.length > 0 ? Buffer.from(range.hi) : undefined
  if (lo && hi && Buffer.compare(lo, hi) >= 0) return out
  const inRange = (k: Buffer) => (!lo || Buffer.compare(k, lo) >= 0) && (!hi || Buffer.compare(k, hi) < 0)
  const dir = range.reverse ? -1 : 1
  let skip = range.offset
  const changes = [...overlay.values()].filter((c) => inRange(c.sortKey)).sort((a, b) => dir * Buffer.compare(a.sortKey, b.sortKey))

  const prefix = indexPrefix(contextId, parent)
  const lower = lo ? Buffer.concat([prefix, lo]) : prefix
  const upper = hi ? Buffer.concat([prefix, hi]) : prefixUpperBound(prefix).lt
  let cursor: Buffer | undefined
  let buffered: IndexRow[] = []
  let at = 0
  let done = false
  const nextStored = (): IndexRow | undefined => {
    if (at < buffered.length) return buffered[at++]
    if (done) return undefined
    const bounds = range.reverse
      ? { gte: lower, ...(cursor ? { lt: cursor } : upper ? { lt: upper } : {}) }
      : { ...(cursor ? { gt: cursor } : { gte: lower }), ...(upper ? { lt: upper } : {}) }
    const page = Math.max(MIN_PAGE, Math.min(MAX_PAGE, skip + limit - out.length + 1))
    const rows = store.scan('stateIndex', { ...bounds, limit: page, reverse: range.reverse })
    if (rows.length < page) done = true
    if (rows.length === 0) return undefined
    cursor = rows[rows.length - 1]![0]
    buffered = rows.map(([k, v]) => ({ sortKey: k.subarray(64), id: v }))
    at = 0
    return buffered[at++]
  }

  let stored = nextStored()
  let ci = 0
  while (out.length < limit) {
    const change = changes[ci]
    let row: IndexRow | undefined
    if (stored && (!change || dir * Buffer.compare(stored.sortKey, change.sortKey) < 0)) {
      // a stored row before the next change: untouched by the session (a touched one meets its change)
      row = stored
      stored = nextStored()
    } else if (change) {
      if (stored && stored.sortKey.equals(change.sortKey)) stored = nextStored()
      if (change.live) row = change
      ci++
    } else break
    if (!row) continue
    if (skip > 0) skip--
    else out.push({ sortKey: row.sortKey, id: row.id })
  }
  return out
}

/** The exclusive upper bound of the keys starting with `prefix` (undefined: no bound, the prefix is all 0xff). */
export function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  return prefixUpperBound(prefix).lt
}
