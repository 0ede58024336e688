import { toBase58, toHex } from '../primitives/encoding.js'
import type { LostWrite } from '../store/wal-check.js'

/**
 * What a repair lost, in the node's terms: the write-ahead log records a replay dropped, read as
 * the deltas and governance ops they held (keys `contextId ‖ deltaId` in `delta` and
 * `groupId ‖ opId` in `groupOps`), plus a count of rows per column.
 */
export interface LostSummary {
  rows: number
  byColumn: Record<string, number>
  deltas: { contextId: string; deltaIds: string[] }[]
  ops: { groupId: string; opIds: string[] }[]
}

const ID = 32

export function summariseLostWrites(writes: readonly LostWrite[]): LostSummary {
  const byColumn: Record<string, number> = {}
  const deltas = new Map<string, Set<string>>()
  const ops = new Map<string, Set<string>>()
  const add = (m: Map<string, Set<string>>, k: string, v: string) => {
    let s = m.get(k)
    if (!s) m.set(k, (s = new Set()))
    s.add(v)
  }
  for (const w of writes) {
    byColumn[w.column] = (byColumn[w.column] ?? 0) + 1
    if (w.op !== 'put' || w.key.length !== 2 * ID) continue
    if (w.column === 'delta') add(deltas, toBase58(w.key.subarray(0, ID)), toHex(w.key.subarray(ID)))
    if (w.column === 'groupOps') add(ops, toHex(w.key.subarray(0, ID)), toHex(w.key.subarray(ID)))
  }
  return {
    rows: writes.length,
    byColumn,
    deltas: [...deltas].map(([contextId, ids]) => ({ contextId, deltaIds: [...ids] })),
    ops: [...ops].map(([groupId, ids]) => ({ groupId, opIds: [...ids] })),
  }
}
