import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32c } from './crc32c.js'

/**
 * The sequence number of the last write the store acknowledged, and the number of the log being
 * written, kept beside RocksDB's files (`data/MERO-ACKNOWLEDGED`). It is what lets the next open tell a log that was truncated at a
 * record boundary, or a newest log that was deleted, from a log that simply ends: RocksDB's own
 * WAL tracking in the MANIFEST cannot be switched on through @nxtedition/rocksdb.
 *
 * One 24-byte pwrite per event-loop turn that wrote (Store.acknowledge): it lands in the page
 * cache before any answer about the turn's writes leaves, so a kill -9 cannot lose what was
 * acknowledged. A torn ledger (power loss mid-write) fails its checksum and is ignored, as a
 * missing one is.
 */
export const LEDGER_FILE = 'MERO-ACKNOWLEDGED'
const MAGIC = 0x4d57_4c31 // "MWL1"
const SIZE = 24

export interface LedgerRecord {
  sequence: bigint
  /** The write-ahead log's file number, as last seen (0: unknown). */
  log: number
}

export class WalLedger {
  private readonly buf = Buffer.alloc(SIZE)
  private fd?: number
  /** The log being written (file number), recorded with each sequence. */
  log = 0

  constructor(readonly path: string) {}

  static at(location: string): WalLedger {
    return new WalLedger(join(location, LEDGER_FILE))
  }

  /** What was recorded, or undefined (no ledger yet, or a torn one). */
  read(): LedgerRecord | undefined {
    let bytes: Buffer
    try {
      bytes = readFileSync(this.path)
    } catch {
      return undefined
    }
    if (bytes.length < SIZE || bytes.readUInt32BE(0) !== MAGIC || crc32c(bytes.subarray(0, 20)) !== bytes.readUInt32BE(20)) return undefined
    return { sequence: bytes.readBigUInt64BE(4), log: Number(bytes.readBigUInt64BE(12)) }
  }

  /** Records `sequence` as acknowledged (the ledger is opened on first use). */
  note(sequence: bigint): void {
    this.fd ??= openSync(this.path, 'w', 0o600)
    this.buf.writeUInt32BE(MAGIC, 0)
    this.buf.writeBigUInt64BE(sequence, 4)
    this.buf.writeBigUInt64BE(BigInt(this.log), 12)
    this.buf.writeUInt32BE(crc32c(this.buf.subarray(0, 20)), 20)
    writeSync(this.fd, this.buf, 0, SIZE, 0)
  }

  close(): void {
    if (this.fd === undefined) return
    closeSync(this.fd)
    this.fd = undefined
  }
}
