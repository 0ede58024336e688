import { RocksLevel } from '@nxtedition/rocksdb'
import { MeroError } from '../primitives/errors.js'
import { COLUMNS, type Column, POINT_LOOKUP_COLUMNS } from './columns.js'

export interface Range {
  gte?: Uint8Array
  gt?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  limit?: number
  reverse?: boolean
}

type Handle = unknown
/** The binding's chained batch, used through its synchronous internals. */
interface RawBatch {
  _put(k: Buffer, v: Buffer, o: object): void
  _del(k: Buffer, o: object): void
  _writeSync(o: object): void
  _clear(): void
}
type Raw = RocksLevel<Buffer, Buffer> & {
  _getManySync(keys: Buffer[], options: object): (Buffer | undefined)[]
  querySync(options: object): { rows: Buffer[]; finished: boolean }
  columns: Record<string, Handle>
}

/** An atomic write batch across column families. Nothing is written until `write()`. */
export class WriteBatch {
  private readonly ops: { type: 'put' | 'del'; key: Buffer; value?: Buffer; column: Handle }[] = []

  constructor(private readonly store: Store) {}

  put(column: Column, key: Uint8Array, value: Uint8Array): this {
    this.ops.push({ type: 'put', key: asBuffer(key), value: asBuffer(value), column: this.store.handle(column) })
    return this
  }

  del(column: Column, key: Uint8Array): this {
    this.ops.push({ type: 'del', key: asBuffer(key), column: this.store.handle(column) })
    return this
  }

  get size(): number {
    return this.ops.length
  }

  /** Synchronous and atomic (RocksDB WriteBatch with the WAL). */
  write(): void {
    if (this.ops.length === 0) return
    const batch = this.store.nativeBatch()
    try {
      for (const op of this.ops) {
        if (op.type === 'put') batch._put(op.key, op.value!, { column: op.column })
        else batch._del(op.key, { column: op.column })
      }
      batch._writeSync({})
    } finally {
      batch._clear()
    }
    this.ops.length = 0
  }
}

/**
 * The node's RocksDB store (@nxtedition/rocksdb): column families, synchronous point reads
 * (the wasm host functions are synchronous), atomic batches and ordered range scans.
 */
export class Store {
  private closed = false
  private native?: RawBatch

  private constructor(readonly raw: Raw, readonly location: string) {}

  static async open(location: string): Promise<Store> {
    const db = new RocksLevel(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as Raw
    const columns = Object.fromEntries(COLUMNS.map((c) => [c, POINT_LOOKUP_COLUMNS.has(c) ? { optimize: 'point-lookup' } : {}]))
    try {
      // the binding compresses every WAL record with ZSTD by default: that doubled the cost of a
      // small write (measured 17-24 µs without, 31-49 µs with), and the WAL is short-lived anyway
      await db.open({ createIfMissing: true, createMissingColumnFamilies: true, columns, walCompression: false } as object)
    } catch (e) {
      const msg = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message
      if (/lock/i.test(msg)) {
        throw new MeroError('AlreadyRunning', `the database at ${location} is locked by another process`)
      }
      throw new MeroError('Internal', `cannot open the database at ${location}: ${msg}`)
    }
    return new Store(db, location)
  }

  handle(column: Column): Handle {
    const h = this.raw.columns[column]
    if (h === undefined) throw new MeroError('Internal', `unknown column family '${column}'`)
    return h
  }

  get(column: Column, key: Uint8Array): Buffer | undefined {
    return this.raw._getManySync([asBuffer(key)], { column: this.handle(column) })[0] ?? undefined
  }

  getMany(column: Column, keys: Uint8Array[]): (Buffer | undefined)[] {
    if (keys.length === 0) return []
    return this.raw._getManySync(keys.map(asBuffer), { column: this.handle(column) }).map((v) => v ?? undefined)
  }

  has(column: Column, key: Uint8Array): boolean {
    return this.get(column, key) !== undefined
  }

  batch(): WriteBatch {
    return new WriteBatch(this)
  }

  /**
   * @internal One native WriteBatch for every write, cleared after each: writes are synchronous,
   * so they never overlap, and making a batch object per write (abstract-level's wrapper and a
   * native batch) was a good part of a small write's cost.
   */
  nativeBatch(): RawBatch {
    this.native ??= this.raw.batch() as unknown as RawBatch
    return this.native
  }

  put(column: Column, key: Uint8Array, value: Uint8Array): void {
    this.batch().put(column, key, value).write()
  }

  del(column: Column, key: Uint8Array): void {
    this.batch().del(column, key).write()
  }

  /** Ordered key/value pairs in a range, read synchronously. Use `limit` for large ranges. */
  scan(column: Column, range: Range = {}): [Buffer, Buffer][] {
    const opts: Record<string, unknown> = { column: this.handle(column), keys: true, values: true, keyEncoding: 'buffer', valueEncoding: 'buffer' }
    for (const k of ['gte', 'gt', 'lt', 'lte'] as const) if (range[k]) opts[k] = asBuffer(range[k]!)
    if (range.limit !== undefined) opts.limit = range.limit
    if (range.reverse) opts.reverse = true
    const { rows } = this.raw.querySync(opts)
    const out: [Buffer, Buffer][] = []
    for (let i = 0; i < rows.length; i += 2) out.push([rows[i]!, rows[i + 1]!])
    return out
  }

  /** Every pair whose key starts with `prefix`, in key order. */
  scanPrefix(column: Column, prefix: Uint8Array, limit?: number): [Buffer, Buffer][] {
    return this.scan(column, { gte: prefix, ...prefixUpperBound(prefix), limit })
  }

  /** Streams a large range without holding it in memory. */
  async *iterate(column: Column, range: Range = {}): AsyncGenerator<[Buffer, Buffer]> {
    const opts: Record<string, unknown> = { column: this.handle(column) }
    for (const k of ['gte', 'gt', 'lt', 'lte'] as const) if (range[k]) opts[k] = asBuffer(range[k]!)
    if (range.limit !== undefined) opts.limit = range.limit
    if (range.reverse) opts.reverse = true
    for await (const [k, v] of this.raw.iterator(opts)) yield [k, v]
  }

  /** Deletes every key with the prefix, in one batch. */
  deletePrefix(column: Column, prefix: Uint8Array): number {
    const batch = this.batch()
    for (const [k] of this.scanPrefix(column, prefix)) batch.del(column, k)
    const n = batch.size
    batch.write()
    return n
  }

  get isOpen(): boolean {
    return !this.closed
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await (this.native as unknown as { close(): Promise<void> } | undefined)?.close()
    await this.raw.close()
  }
}

/** `{ lt }` bound that covers exactly the keys starting with `prefix` (or none when all 0xff). */
export function prefixUpperBound(prefix: Uint8Array): { lt?: Buffer } {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++
      return { lt: end.subarray(0, i + 1) }
    }
  }
  return {}
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}
