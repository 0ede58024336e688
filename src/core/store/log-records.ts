import { crc32c, maskCrc } from './crc32c.js'

/**
 * RocksDB's log format (db/log_format.h), shared by write-ahead logs and the MANIFEST: 32 KiB
 * blocks of physical records `crc (4, masked CRC-32C of type ‖ payload) · length (2) · type (1)`,
 * a logical record split into first/middle/last fragments where it crosses a block, and a block's
 * last < 7 bytes zero-filled. @nxtedition/rocksdb exposes neither `wal_recovery_mode` nor
 * `track_and_verify_wals_in_manifest`, so the store reads its logs itself before RocksDB replays
 * them (wal-check.ts): RocksDB's default point-in-time recovery drops everything after the first
 * damaged record without a word.
 */
export const BLOCK_SIZE = 32768
const HEADER = 7
const RECYCLABLE_HEADER = 11

const FULL = 1
const FIRST = 2
const MIDDLE = 3
const LAST = 4
const RECYCLABLE_FULL = 5
const RECYCLABLE_LAST = 8
const SET_COMPRESSION = 9
const TIMESTAMP_SIZE = 10
const RECYCLABLE_TIMESTAMP_SIZE = 11

export interface LogRecord {
  /** Where the record's first fragment starts in the file. */
  offset: number
  payload: Buffer
}

export interface LogDamage {
  offset: number
  reason: string
}

export interface LogReadResult {
  /** The records before any damage, in order. */
  records: LogRecord[]
  /** The first damaged spot; the records before it are good, RocksDB replays none after it. */
  damage?: LogDamage
  /** Records after the damage that still check out (what a point-in-time recovery drops). */
  afterDamage: LogRecord[]
  /** A record cut short at the very end: a write interrupted by a crash, never acknowledged. */
  tornTail?: LogDamage
  /** The log compresses its records (the binding's default): their contents cannot be read here. */
  compressed: boolean
}

/** Reads every record of a log file's bytes, checking each fragment's checksum and framing. */
export function readLogRecords(bytes: Buffer): LogReadResult {
  const out: LogReadResult = { records: [], afterDamage: [], compressed: false }
  let sink = out.records
  let fragments: Buffer[] | undefined
  let fragmentStart = 0
  let pos = 0
  const fail = (offset: number, reason: string): void => {
    fragments = undefined
    if (out.damage) return
    out.damage = { offset, reason }
    sink = out.afterDamage
  }
  while (pos < bytes.length) {
    const inBlock = BLOCK_SIZE - (pos % BLOCK_SIZE)
    if (inBlock < HEADER) {
      pos += inBlock // the block's zero-filled trailer
      continue
    }
    if (bytes[pos + 6] === 0 && allZero(bytes, pos, bytes.length)) {
      // zeros to the end (a preallocated or never-written region): nothing more was written
      if (fragments && !out.damage) out.tornTail = { offset: fragmentStart, reason: 'the last record has no end' }
      break
    }
    if (pos + HEADER > bytes.length) {
      out.tornTail ??= { offset: pos, reason: 'the last record header is cut short' }
      break
    }
    const stored = bytes.readUInt32LE(pos)
    const length = bytes.readUInt16LE(pos + 4)
    const type = bytes[pos + 6]!
    const recyclable = (type >= RECYCLABLE_FULL && type <= RECYCLABLE_LAST) || type === RECYCLABLE_TIMESTAMP_SIZE
    const header = recyclable ? RECYCLABLE_HEADER : HEADER
    if (type === 0 || type > RECYCLABLE_TIMESTAMP_SIZE) {
      fail(pos, type === 0 ? 'zeros where a record should be' : `an unknown record type ${type}`)
      pos = resync(bytes, pos)
      continue
    }
    if (pos + header + length > bytes.length) {
      if (!out.damage) out.tornTail = { offset: pos, reason: 'the last record is cut short' }
      break
    }
    if (header + length > inBlock) {
      fail(pos, 'a record runs past the end of its block')
      pos = resync(bytes, pos)
      continue
    }
    if (!checksumMatches(bytes, pos, header, length, stored)) {
      fail(pos, 'a record checksum does not match its contents')
      pos = resync(bytes, pos)
      continue
    }
    const payload = bytes.subarray(pos + header, pos + header + length)
    const kind = recyclable && type !== RECYCLABLE_TIMESTAMP_SIZE ? type - (RECYCLABLE_FULL - FULL) : type
    if (kind === SET_COMPRESSION) {
      if (payload.length > 0 && payload[0] !== 0) out.compressed = true
    } else if (kind === TIMESTAMP_SIZE || type === RECYCLABLE_TIMESTAMP_SIZE) {
      // column families' timestamp sizes: metadata, no write
    } else if (kind === FULL) {
      if (fragments) fail(fragmentStart, 'a record lost its last fragment')
      sink.push({ offset: pos, payload })
      fragments = undefined
    } else if (kind === FIRST) {
      if (fragments) fail(fragmentStart, 'a record lost its last fragment')
      fragments = [payload]
      fragmentStart = pos
    } else if (!fragments) {
      // a middle or last fragment whose start was lost (after damage, expected)
      if (!out.damage) fail(pos, 'a record fragment has no beginning')
    } else {
      fragments.push(payload)
      if (kind === LAST) {
        sink.push({ offset: fragmentStart, payload: Buffer.concat(fragments) })
        fragments = undefined
      } else if (kind !== MIDDLE) {
        fail(pos, `an unexpected record type ${type}`)
      }
    }
    pos += header + length
  }
  if (fragments && !out.tornTail && !out.damage) out.tornTail = { offset: fragmentStart, reason: 'the last record has no end' }
  return out
}

function checksumMatches(bytes: Buffer, pos: number, header: number, length: number, stored: number): boolean {
  return maskCrc(crc32c(bytes.subarray(pos + header, pos + header + length), crc32c(bytes.subarray(pos + 6, pos + header)))) === stored
}

/** Whether a whole, checksummed record starts at `pos` (finding the records after damage). */
function recordAt(bytes: Buffer, pos: number): boolean {
  const inBlock = BLOCK_SIZE - (pos % BLOCK_SIZE)
  if (inBlock < HEADER || pos + HEADER > bytes.length) return false
  const length = bytes.readUInt16LE(pos + 4)
  const type = bytes[pos + 6]!
  if (type === 0 || type > RECYCLABLE_TIMESTAMP_SIZE) return false
  const header = (type >= RECYCLABLE_FULL && type <= RECYCLABLE_LAST) || type === RECYCLABLE_TIMESTAMP_SIZE ? RECYCLABLE_HEADER : HEADER
  if (header + length > inBlock || pos + header + length > bytes.length) return false
  return checksumMatches(bytes, pos, header, length, bytes.readUInt32LE(pos))
}

/**
 * Where reading goes on after a damaged record: the next place in its block where a record
 * checks out (a damaged record's length is usually intact, so its end is tried first), else the
 * next block. Only the report of what a recovery drops reads past damage.
 */
function resync(bytes: Buffer, pos: number): number {
  const blockEnd = Math.min(bytes.length, (Math.floor(pos / BLOCK_SIZE) + 1) * BLOCK_SIZE)
  const claimedEnd = pos + HEADER + bytes.readUInt16LE(pos + 4)
  if (claimedEnd < blockEnd && recordAt(bytes, claimedEnd)) return claimedEnd
  for (let p = pos + 1; p < blockEnd; p++) if (recordAt(bytes, p)) return p
  return blockEnd
}

function allZero(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false
  return true
}
