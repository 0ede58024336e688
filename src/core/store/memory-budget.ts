import { MeroError } from '../primitives/errors.js'
import { COLUMNS, type Column, POINT_LOOKUP_COLUMNS } from './columns.js'

/**
 * RocksDB's memory under one budget (`store.memory_mb`): half of it for write buffers
 * (memtables), half for the block cache, both shared out between the column families by weight.
 *
 * What the binding (@nxtedition/rocksdb 12.2) lets us set, read from its binding.cc:
 * - the block cache is made per column family from `cacheSize` (a new cache for each call), so
 *   the columns cannot share one cache: each gets a fixed share of the budget instead, and its
 *   index and filter blocks are charged to it (`cacheIndexAndFilterBlocks`) so that they stay
 *   inside it as the data grows;
 * - there is no WriteBufferManager nor `db_write_buffer_size`: a column's memtables are sized
 *   from `memtableMemoryBudget`, which only a `compaction` preset reads. The `level` preset makes
 *   write buffers of a quarter of it, flushes two at a time and keeps at most six, so a column's
 *   memtables never pass 1.5 × its budget (and usually stay under 0.75 ×); the shares are
 *   divided by 1.5 so that the write buffers of all columns together stay within their half.
 *   The preset also sets leveled compaction sized from the same budget (level 1 = the budget,
 *   files of an eighth), with levels 0 and 1 left uncompressed.
 * The per-column tuning stays: the point-lookup columns keep their bloom and hash index.
 */
export const DEFAULT_STORE_MEMORY_MB = 64
export const MIN_STORE_MEMORY_MB = 16
/** The binding reads a column's cache size as a u32: 4 GiB at most, and the state column takes about a sixth of the budget. */
export const MAX_STORE_MEMORY_MB = 16_384

/** Relative shares of the budget: what each column is written (memtables) and read (cache) for. */
const WEIGHTS: Record<Column, { write: number; read: number }> = {
  default: { write: 0.25, read: 0.25 },
  meta: { write: 0.25, read: 0.25 },
  alias: { write: 0.25, read: 0.5 },
  groupOps: { write: 2, read: 2 },
  groupMeta: { write: 1, read: 1 },
  invitation: { write: 0.25, read: 0.25 },
  context: { write: 1, read: 1 },
  contextKeys: { write: 0.25, read: 0.5 },
  keys: { write: 0.25, read: 0.5 },
  state: { write: 6, read: 8 },
  stateIndex: { write: 3, read: 3 },
  private: { write: 1, read: 1 },
  delta: { write: 4, read: 3 },
  deltaDepth: { write: 1, read: 1 },
  application: { write: 0.25, read: 0.5 },
  instrumented: { write: 1, read: 0.5 },
  blob: { write: 0.5, read: 0.5 },
  peers: { write: 0.25, read: 0.25 },
}

/** How far a column's memtables can go past its `memtableMemoryBudget` (the `level` preset keeps at most six of a quarter). */
const MEMTABLE_WORST_CASE = 1.5
const MiB = 1024 * 1024
/** RocksDB raises a smaller write_buffer_size to this. */
const MIN_WRITE_BUFFER = 64 * 1024

export interface StoreMemoryPlan {
  memoryMb: number
  /** Bytes: what all columns' write buffers can hold at most, and their block caches together. */
  writeBuffers: number
  blockCache: number
  /** The options of each column family, as the binding reads them. */
  columns: Record<Column, Record<string, unknown>>
}

export function storeMemoryPlan(memoryMb = DEFAULT_STORE_MEMORY_MB): StoreMemoryPlan {
  if (!Number.isInteger(memoryMb) || memoryMb < MIN_STORE_MEMORY_MB || memoryMb > MAX_STORE_MEMORY_MB) {
    throw new MeroError('InvalidInput', `store.memory_mb must be a whole number of MiB from ${MIN_STORE_MEMORY_MB} to ${MAX_STORE_MEMORY_MB}; got ${memoryMb}`)
  }
  const half = (memoryMb * MiB) / 2
  const memtables = memtableBudgets(half / MEMTABLE_WORST_CASE)
  const readTotal = COLUMNS.reduce((n, c) => n + WEIGHTS[c].read, 0)
  let writeBuffers = 0
  let blockCache = 0
  const columns = {} as Record<Column, Record<string, unknown>>
  for (const c of COLUMNS) {
    const memtableMemoryBudget = memtables[c]
    const cacheSize = Math.floor((half * WEIGHTS[c].read) / readTotal)
    writeBuffers += memtableMemoryBudget * MEMTABLE_WORST_CASE
    blockCache += cacheSize
    columns[c] = {
      compaction: 'level',
      memtableMemoryBudget,
      cacheSize,
      cacheIndexAndFilterBlocks: true,
      ...(POINT_LOOKUP_COLUMNS.has(c) ? { optimize: 'point-lookup' } : {}),
    }
  }
  return { memoryMb, writeBuffers: Math.round(writeBuffers), blockCache, columns }
}

/**
 * Each column's `memtableMemoryBudget`, by weight, in whole write buffers (a quarter of it): a
 * column whose share would make write buffers under RocksDB's 64 KiB floor gets the floor, and
 * the others share what is left, so that the sum stays within `total`.
 */
function memtableBudgets(total: number): Record<Column, number> {
  const out = {} as Record<Column, number>
  const floor = MIN_WRITE_BUFFER * 4
  let floored = new Set<Column>()
  for (;;) {
    const free = COLUMNS.filter((c) => !floored.has(c))
    const weight = free.reduce((n, c) => n + WEIGHTS[c].write, 0)
    const left = total - floored.size * floor
    const under = free.filter((c) => (left * WEIGHTS[c].write) / weight < floor)
    if (under.length === 0) {
      for (const c of floored) out[c] = floor
      for (const c of free) out[c] = Math.floor((left * WEIGHTS[c].write) / weight / 4) * 4
      return out
    }
    floored = new Set([...floored, ...under])
  }
}
