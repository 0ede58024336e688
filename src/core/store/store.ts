import { RocksLevel } from '@nxtedition/rocksdb'
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { MeroError } from '../primitives/errors.js'
import { COLUMNS, type Column } from './columns.js'
import { storeMemoryPlan, type StoreMemoryPlan } from './memory-budget.js'
import { checkEncryptionBeforeOpen, decodeRecord, ENCRYPTION_META_KEY, encodeRecord, keyMissing, keyWrong, readEncryptionFile, recordFor, storeNotEncrypted, writeEncryptionFile, type EncryptionRecord, type StoreKeyWords } from './encryption-record.js'
import { StoreCipher } from './store-cipher.js'
import { classifyStoreError } from './store-errors.js'
import { checkWriteAheadLogs, type WalCheck } from './wal-check.js'
import { WalLedger } from './wal-ledger.js'

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
  readonly sequence: number | bigint
}

export interface StoreOpenOptions {
  /**
   * `verify` (the default) refuses to open over write-ahead logs that would lose acknowledged
   * writes; `recover` keeps a copy of the logs, lets RocksDB replay what it can (point in time)
   * and reports what was lost in `store.recovery`.
   */
  wal?: 'verify' | 'recover'
  /** RocksDB's memory budget in MiB: write buffers and block cache (memory-budget.ts) [64]. */
  memoryMb?: number
  /**
   * The store key (32 bytes): the values of the sealed columns are encrypted under it
   * (store-cipher.ts). An encrypted store refuses to open without it or with another key,
   * changing nothing; a new store given a key is encrypted from its first write.
   */
  key?: Uint8Array
  /** Where the key came from and how to give one, for the errors (the caller knows its config). */
  keyWords?: StoreKeyWords
}

export interface StoreRecovery {
  check: WalCheck
  /** Where the logs were copied before the replay. */
  savedTo?: string
}

/** An atomic write batch across column families. Nothing is written until `write()`. */
export class WriteBatch {
  private readonly ops: { type: 'put' | 'del'; key: Buffer; value?: Buffer; column: Handle }[] = []

  constructor(private readonly store: Store) {}

  put(column: Column, key: Uint8Array, value: Uint8Array): this {
    const cipher = this.store.cipher
    const stored = cipher?.seals(column) ? cipher.seal(column, key, value) : asBuffer(value)
    this.ops.push({ type: 'put', key: asBuffer(key), value: stored, column: this.store.handle(column) })
    return this
  }

  /** @internal Puts bytes as they are, sealed or not (a copy or a migration of stored rows). */
  putStored(column: Column, key: Uint8Array, stored: Uint8Array): this {
    this.ops.push({ type: 'put', key: asBuffer(key), value: asBuffer(stored), column: this.store.handle(column) })
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
    } catch (e) {
      throw classifyStoreError(e, this.store.location, 'writing')
    } finally {
      batch._clear()
    }
    this.ops.length = 0
    this.store.acknowledge()
  }
}

/**
 * The node's RocksDB store (@nxtedition/rocksdb): column families, synchronous point reads
 * (the wasm host functions are synchronous), atomic batches and ordered range scans.
 */
export class Store {
  private closed = false
  private native?: RawBatch
  private ledgerQueued = false
  private ledgerWrites = 0
  /** What `open` found in the logs and recovered, when opened with `wal: 'recover'`. */
  recovery?: StoreRecovery

  private constructor(
    readonly raw: Raw,
    readonly location: string,
    private readonly ledger: WalLedger,
    /** What RocksDB may use: the budget and how it is shared out. */
    readonly memory: StoreMemoryPlan,
    /** Seals and opens the values of the sealed columns, when the store is encrypted. */
    readonly cipher?: StoreCipher,
  ) {}

  /** The store's encryption record (its key id), when it is encrypted. */
  get encryption(): EncryptionRecord | undefined {
    return this.cipher ? recordFor(this.cipher) : undefined
  }

  static async open(location: string, options: StoreOpenOptions = {}): Promise<Store> {
    const cipher = options.key ? new StoreCipher(options.key) : undefined
    const words = options.keyWords ?? {}
    checkEncryptionBeforeOpen(location, cipher, words)
    const check = checkWriteAheadLogs(location)
    let savedTo: string | undefined
    if (check?.problems.length) {
      if (options.wal !== 'recover') {
        throw new MeroError(
          'StoreCorrupted',
          `the write-ahead log of the database at ${location} is damaged: ${check.problems.map((p) => p.message).join('; ')}. Nothing was changed: \`meroctl node repair\` recovers what can be recovered, says what was lost, and the node then catches up from its peers`,
          { files: check.problems.map((p) => p.file), acknowledged: check.acknowledged?.toString(), recoverable: check.recoverable.toString() },
        )
      }
      savedTo = saveLogs(location, check)
    }
    const memory = storeMemoryPlan(options.memoryMb)
    const db = new RocksLevel(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as Raw
    try {
      // the binding compresses every WAL record with ZSTD by default: that doubled the cost of a
      // small write (measured 17-24 µs without, 31-49 µs with), and the WAL is short-lived anyway
      await db.open({ createIfMissing: true, createMissingColumnFamilies: true, columns: memory.columns, walCompression: false } as object)
    } catch (e) {
      throw classifyStoreError(e, location, 'opening it')
    }
    const store = new Store(db, location, WalLedger.at(location), memory, cipher)
    try {
      store.checkEncryption(words)
    } catch (e) {
      await store.close()
      throw e
    }
    if (check && options.wal === 'recover') store.recovery = { check, ...(savedTo ? { savedTo } : {}) }
    store.writeLedger() // what the replay recovered is the new starting point
    return store
  }

  /**
   * After the open, the store's own record (the `meta` row) decides: an encrypted store without
   * its key is refused even when its encryption file was lost; a new store given a key records
   * it; an unencrypted store with rows is not encrypted here (merod encrypts a node by copying
   * its store into a new one: daemon/encrypt-node.ts).
   */
  private checkEncryption(words: StoreKeyWords): void {
    const row = this.getStored('meta', ENCRYPTION_META_KEY)
    const record = row ? decodeRecord(row, `in the meta column of ${this.location}`) : undefined
    if (record && !this.cipher) throw keyMissing(this.location, record, words)
    if (!this.cipher) return
    if (record && record.keyId !== this.cipher.keyId) throw keyWrong(this.location, record, this.cipher, words)
    if (!record) {
      if (!this.isEmptyOfRows()) throw storeNotEncrypted(this.location, words)
      this.batch().putStored('meta', ENCRYPTION_META_KEY, encodeRecord(recordFor(this.cipher))).write()
    }
    if (!readEncryptionFile(this.location)) writeEncryptionFile(this.location, recordFor(this.cipher))
  }

  /** No column but `meta` holds a row. */
  isEmptyOfRows(): boolean {
    return COLUMNS.every((c) => c === 'meta' || this.scanStored(c, { limit: 1 }).length === 0)
  }

  /** The sequence number of the last write (RocksDB's). */
  get sequence(): bigint {
    return BigInt(this.raw.sequence)
  }

  /**
   * @internal Records the writes so far as acknowledged, in the ledger, once per turn of the
   * event loop: a microtask queued by the turn's first write runs before anything the turn's
   * writes resolve (their callers' continuations queue after it), so no answer about a write
   * leaves before the ledger holds it. The log being written is looked up at open and every
   * thousand such turns (RocksDB starts a new log when a memtable fills).
   */
  acknowledge(): void {
    if (this.ledgerQueued) return
    this.ledgerQueued = true
    queueMicrotask(this.writeLedger)
  }

  private readonly writeLedger = (): void => {
    this.ledgerQueued = false
    if (this.closed) return
    if (this.ledgerWrites++ % LOG_LOOKUP_EVERY === 0) this.ledger.log = newestLog(this.location)
    this.ledger.note(BigInt(this.raw.sequence))
  }

  handle(column: Column): Handle {
    const h = this.raw.columns[column]
    if (h === undefined) throw new MeroError('Internal', `unknown column family '${column}'`)
    return h
  }

  get(column: Column, key: Uint8Array): Buffer | undefined {
    const stored = this.getStored(column, key)
    return stored && this.cipher?.seals(column) ? this.cipher.open(column, key, stored, this.location) : stored
  }

  /** @internal The bytes stored at `key`, sealed as they are. */
  getStored(column: Column, key: Uint8Array): Buffer | undefined {
    try {
      return this.raw._getManySync([asBuffer(key)], { column: this.handle(column) })[0] ?? undefined
    } catch (e) {
      throw classifyStoreError(e, this.location, `reading column ${column}`)
    }
  }

  getMany(column: Column, keys: Uint8Array[]): (Buffer | undefined)[] {
    if (keys.length === 0) return []
    let values: (Buffer | undefined)[]
    try {
      values = this.raw._getManySync(keys.map(asBuffer), { column: this.handle(column) })
    } catch (e) {
      throw classifyStoreError(e, this.location, `reading column ${column}`)
    }
    const cipher = this.cipher?.seals(column) ? this.cipher : undefined
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      values[i] = v && cipher ? cipher.open(column, keys[i]!, v, this.location) : (v ?? undefined)
    }
    return values
  }

  has(column: Column, key: Uint8Array): boolean {
    return this.getStored(column, key) !== undefined
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
    const rows = this.scanStored(column, range)
    const cipher = this.cipher?.seals(column) ? this.cipher : undefined
    if (cipher) for (const row of rows) row[1] = cipher.open(column, row[0], row[1], this.location)
    return rows
  }

  /** @internal `scan`, the values as stored (sealed). */
  scanStored(column: Column, range: Range = {}): [Buffer, Buffer][] {
    const opts: Record<string, unknown> = { column: this.handle(column), keys: true, values: true, keyEncoding: 'buffer', valueEncoding: 'buffer' }
    for (const k of ['gte', 'gt', 'lt', 'lte'] as const) if (range[k]) opts[k] = asBuffer(range[k]!)
    if (range.limit !== undefined) opts.limit = range.limit
    if (range.reverse) opts.reverse = true
    let rows: Buffer[]
    try {
      ;({ rows } = this.raw.querySync(opts))
    } catch (e) {
      throw classifyStoreError(e, this.location, `reading column ${column}`)
    }
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
    const cipher = this.cipher?.seals(column) ? this.cipher : undefined
    for await (const [k, v] of this.raw.iterator(opts)) yield [k, cipher ? cipher.open(column, k, v, this.location) : v]
  }

  /** Deletes every key with the prefix, in one batch. */
  deletePrefix(column: Column, prefix: Uint8Array): number {
    const batch = this.batch()
    for (const [k] of this.scanStored(column, { gte: prefix, ...prefixUpperBound(prefix) })) batch.del(column, k)
    const n = batch.size
    batch.write()
    return n
  }

  get isOpen(): boolean {
    return !this.closed
  }

  async close(): Promise<void> {
    if (this.closed) return
    if (this.ledgerQueued) this.writeLedger()
    this.closed = true
    await (this.native as unknown as { close(): Promise<void> } | undefined)?.close()
    await this.raw.close()
    this.ledger.close()
  }
}

const LOG_LOOKUP_EVERY = 1024

function newestLog(location: string): number {
  let newest = 0
  for (const f of readdirSync(location)) {
    const m = /^(\d+)\.log$/.exec(f)
    if (m && Number(m[1]) > newest) newest = Number(m[1])
  }
  return newest
}

/** Copies the logs a recovery is about to replay (and drop from) into `<location>.damaged-<time>/`. */
function saveLogs(location: string, check: WalCheck): string {
  const dir = `${location}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  for (const log of check.logs) copyFileSync(join(location, log.file), join(dir, log.file))
  return dir
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
