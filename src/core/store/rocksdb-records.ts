/**
 * The two kinds of record RocksDB writes in its logs, decoded as far as the store's checks need:
 * a write batch (a WAL record: db/write_batch.cc) and a version edit (a MANIFEST record:
 * db/version_edit.cc). Both throw a RecordFormatError on bytes they cannot read.
 */
export class RecordFormatError extends Error {}

class Cursor {
  pos = 0
  constructor(readonly bytes: Buffer) {}

  get done(): boolean {
    return this.pos >= this.bytes.length
  }

  varint(): bigint {
    let result = 0n
    for (let shift = 0n; shift <= 63n; shift += 7n) {
      if (this.pos >= this.bytes.length) throw new RecordFormatError('a varint runs past the end')
      const b = this.bytes[this.pos++]!
      result |= BigInt(b & 0x7f) << shift
      if (!(b & 0x80)) return result
    }
    throw new RecordFormatError('a varint is too long')
  }

  small(): number {
    const v = this.varint()
    if (v > 0xffffffffn) throw new RecordFormatError('a 32-bit varint is too large')
    return Number(v)
  }

  slice(): Buffer {
    const n = this.small()
    if (this.pos + n > this.bytes.length) throw new RecordFormatError('a length-prefixed field runs past the end')
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
}

export interface BatchEntry {
  columnFamily: number
  op: 'put' | 'del'
  key: Buffer
}

export interface DecodedBatch {
  sequence: bigint
  count: number
  /** The puts and deletes, when every entry is of a kind this store writes (else undefined). */
  entries?: BatchEntry[]
}

const BATCH_HEADER = 12
const DELETION = 0x0
const VALUE = 0x1
const CF_DELETION = 0x4
const CF_VALUE = 0x5
const SINGLE_DELETION = 0x7
const CF_SINGLE_DELETION = 0x8

/** A WAL record: `sequence (fixed64) · count (fixed32) · entries`. */
export function decodeWriteBatch(payload: Buffer): DecodedBatch {
  if (payload.length < BATCH_HEADER) throw new RecordFormatError(`a write batch of ${payload.length} bytes is shorter than its header`)
  const sequence = payload.readBigUInt64LE(0)
  const count = payload.readUInt32LE(8)
  const c = new Cursor(payload.subarray(BATCH_HEADER))
  const entries: BatchEntry[] = []
  try {
    while (!c.done) {
      const tag = c.bytes[c.pos++]!
      let columnFamily = 0
      if (tag === CF_VALUE || tag === CF_DELETION || tag === CF_SINGLE_DELETION) columnFamily = c.small()
      if (tag === VALUE || tag === CF_VALUE) {
        entries.push({ columnFamily, op: 'put', key: c.slice() })
        c.slice()
      } else if (tag === DELETION || tag === CF_DELETION || tag === SINGLE_DELETION || tag === CF_SINGLE_DELETION) {
        entries.push({ columnFamily, op: 'del', key: c.slice() })
      } else {
        return { sequence, count } // merges, range deletions, 2PC markers: not written by this store
      }
    }
  } catch {
    return { sequence, count }
  }
  return { sequence, count, entries: entries.length === count ? entries : undefined }
}

/** What the MANIFEST says about the logs, folded over its version edits. */
export interface ManifestFacts {
  /** Column family id → name (0 is "default"). */
  columnFamilies: Map<number, string>
  /** Per live column family, the oldest log holding data it has not flushed. */
  logNumbers: Map<number, bigint>
  lastSequence: bigint
  nextFileNumber: bigint
}

const TAG = {
  comparator: 1,
  logNumber: 2,
  nextFileNumber: 3,
  lastSequence: 4,
  compactCursor: 5,
  deletedFile: 6,
  newFile: 7,
  prevLogNumber: 9,
  minLogNumberToKeep: 10,
  newFile2: 100,
  newFile3: 102,
  newFile4: 103,
  columnFamily: 200,
  columnFamilyAdd: 201,
  columnFamilyDrop: 202,
  maxColumnFamily: 203,
  inAtomicGroup: 300,
  safeIgnoreMask: 1 << 13,
} as const
const NEW_FILE4_TERMINATE = 1

export function emptyManifestFacts(): ManifestFacts {
  return { columnFamilies: new Map([[0, 'default']]), logNumbers: new Map(), lastSequence: 0n, nextFileNumber: 0n }
}

/** Folds one version edit into `facts`. */
export function applyVersionEdit(facts: ManifestFacts, payload: Buffer): void {
  const c = new Cursor(payload)
  let family = 0
  let logNumber: bigint | undefined
  let added: string | undefined
  let dropped = false
  while (!c.done) {
    const tag = c.small()
    switch (tag) {
      case TAG.comparator:
        c.slice()
        break
      case TAG.logNumber:
        logNumber = c.varint()
        break
      case TAG.prevLogNumber:
      case TAG.minLogNumberToKeep:
        c.varint()
        break
      case TAG.nextFileNumber:
        facts.nextFileNumber = c.varint()
        break
      case TAG.lastSequence:
        facts.lastSequence = c.varint()
        break
      case TAG.maxColumnFamily:
      case TAG.inAtomicGroup:
        c.small()
        break
      case TAG.compactCursor:
        c.small()
        c.slice()
        break
      case TAG.deletedFile:
        c.small()
        c.varint()
        break
      case TAG.newFile:
      case TAG.newFile2:
      case TAG.newFile3:
      case TAG.newFile4:
        c.small() // level
        c.varint() // number
        if (tag === TAG.newFile3) c.small() // path id
        c.varint() // size
        c.slice() // smallest key
        c.slice() // largest key
        if (tag !== TAG.newFile) {
          c.varint() // smallest sequence
          c.varint() // largest sequence
        }
        if (tag === TAG.newFile4) {
          for (let field = c.small(); field !== NEW_FILE4_TERMINATE; field = c.small()) c.slice()
        }
        break
      case TAG.columnFamily:
        family = c.small()
        break
      case TAG.columnFamilyAdd:
        added = c.slice().toString('utf8')
        break
      case TAG.columnFamilyDrop:
        dropped = true
        break
      default:
        if (!(tag & TAG.safeIgnoreMask)) throw new RecordFormatError(`an unknown version edit tag ${tag}`)
        c.slice()
    }
  }
  if (added !== undefined) facts.columnFamilies.set(family, added)
  if (dropped) {
    facts.columnFamilies.delete(family)
    facts.logNumbers.delete(family)
    return
  }
  if (logNumber !== undefined) facts.logNumbers.set(family, logNumber)
}
