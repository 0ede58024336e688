import { COLUMNS, type Column } from './columns.js'
import { writeEncryptionFile } from './encryption-record.js'
import type { Store } from './store.js'

export interface StoreCopy {
  /** The source's sequence number when the copy's view was taken. */
  sequence: bigint
  rows: Record<Column, number>
  bytes: number
}

interface RowIterator {
  nextv(size: number): Promise<[Buffer, Buffer][]>
  close(): Promise<void>
}

const ROWS_PER_BATCH = 2_000

/**
 * Copies every column of a running store into another (a backup): one consistent view, the
 * state as of the call. The iterators of all columns are made in one synchronous step, so no
 * write can fall between them (writes are synchronous too), and each holds RocksDB's implicit
 * snapshot from its creation. Rows then stream across in batches, off the event loop's back:
 * the node keeps serving while the copy runs. Values are copied as stored: the copy of an
 * encrypted store is encrypted under the same key, and says so (its encryption file); the copy
 * of an unencrypted store into an encrypted one has its values sealed.
 */
export async function copyStore(source: Store, target: Store): Promise<StoreCopy> {
  const iterators = COLUMNS.map((column) => ({
    column,
    it: source.raw.iterator({ column: source.handle(column), keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as RowIterator,
  }))
  const sequence = source.sequence
  // an unencrypted store copied into an encrypted one (encrypting a node): the values are sealed
  const seal = target.cipher !== undefined && source.cipher === undefined
  if (source.encryption) writeEncryptionFile(target.location, source.encryption)
  const rows = Object.fromEntries(COLUMNS.map((c) => [c, 0])) as Record<Column, number>
  let bytes = 0
  try {
    for (const { column, it } of iterators) {
      for (let page = await it.nextv(ROWS_PER_BATCH); page.length > 0; page = await it.nextv(ROWS_PER_BATCH)) {
        const batch = target.batch()
        for (const [k, v] of page) {
          if (seal) batch.put(column, k, v)
          else batch.putStored(column, k, v)
          bytes += k.length + v.length
        }
        batch.write()
        rows[column] += page.length
      }
    }
  } finally {
    await Promise.all(iterators.map(({ it }) => it.close().catch(() => undefined)))
  }
  return { sequence, rows, bytes }
}
