import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readLogRecords, type LogRecord } from './log-records.js'
import { applyVersionEdit, decodeWriteBatch, emptyManifestFacts, RecordFormatError, type BatchEntry, type ManifestFacts } from './rocksdb-records.js'
import { WalLedger } from './wal-ledger.js'

/**
 * Verifies a RocksDB database's write-ahead logs before RocksDB replays them. RocksDB's default
 * (point-in-time) recovery stops at the first damaged record and drops everything after it, and
 * opens without a word when a log is missing or cut short. This check reads the MANIFEST (below
 * which log number every log is flushed, and the last sequence it knows of), every log from there
 * on (each record's checksum, and the sequence numbers chaining from the MANIFEST's last one
 * through each write batch) and the ledger of the last acknowledged write (wal-ledger.ts). It reports the writes a replay
 * would lose, naming the file; the store refuses to open over them (`meroctl node repair`
 * recovers what can be, and says what was lost).
 */
export interface LogSummary {
  file: string
  number: number
  bytes: number
  records: number
  firstSequence?: bigint
  lastSequence?: bigint
}

export interface WalProblem {
  file: string
  /** A sentence naming what is wrong with the file. */
  message: string
}

export interface LostWrite {
  sequence: bigint
  column: string
  op: 'put' | 'del'
  key: Buffer
}

export interface WalCheck {
  logs: LogSummary[]
  /** The last write acknowledged before the store was closed or killed, when the ledger says. */
  acknowledged?: bigint
  /** The last write a replay recovers. */
  recoverable: bigint
  /** Empty when the logs hold every acknowledged write. */
  problems: WalProblem[]
  /** The writes a replay drops that could still be read (after a damaged record). */
  unreplayed: LostWrite[]
  /** The MANIFEST could not be read here: the check ran on the logs and the ledger alone. */
  manifestUnread?: string
}

const LOG_NAME = /^(\d+)\.log$/

export function checkWriteAheadLogs(location: string): WalCheck | undefined {
  const current = join(location, 'CURRENT')
  if (!existsSync(current)) return undefined // a new database
  let facts: ManifestFacts | undefined
  let manifestUnread: string | undefined
  try {
    facts = readManifest(location, readFileSync(current, 'utf8').trim())
  } catch (e) {
    manifestUnread = (e as Error).message
  }
  const oldestNeeded = facts?.logNumbers.size ? [...facts.logNumbers.values()].reduce((a, b) => (b < a ? b : a)) : 0n
  const logFiles = readdirSync(location)
    .map((name) => ({ name, m: LOG_NAME.exec(name) }))
    .filter((f) => f.m && BigInt(f.m[1]!) >= oldestNeeded)
    .map((f) => ({ name: f.name, number: Number(f.m![1]) }))
    .sort((a, b) => a.number - b.number)

  const ledger = WalLedger.at(location).read()
  const acknowledged = ledger?.sequence
  const logs: LogSummary[] = []
  const unreplayed: LostWrite[] = []
  let droppedRecords = 0
  const columnOf = (id: number) => facts?.columnFamilies.get(id) ?? `#${id}`
  const drop = (records: LogRecord[]) => {
    droppedRecords += records.length
    for (const r of records) {
      try {
        const batch = decodeWriteBatch(r.payload)
        batch.entries?.forEach((e: BatchEntry, i) => unreplayed.push({ sequence: batch.sequence + BigInt(i), column: columnOf(e.columnFamily), op: e.op, key: e.key }))
      } catch {
        // not a readable batch: counted, not listed
      }
    }
  }

  // the first place where a replay stops: what comes after it is not recovered
  let stop: WalProblem | undefined
  let torn = false
  let next: bigint | undefined
  let recoverable = facts?.lastSequence ?? 0n
  for (const f of logFiles) {
    const bytes = readFileSync(join(location, f.name))
    const read = readLogRecords(bytes)
    const summary: LogSummary = { file: f.name, number: f.number, bytes: bytes.length, records: read.records.length }
    logs.push(summary)
    if (stop) {
      drop(read.records)
      drop(read.afterDamage)
      continue
    }
    if (read.compressed) continue // written by an older build with compressed logs: checksums only
    for (const [i, r] of read.records.entries()) {
      let batch
      try {
        batch = decodeWriteBatch(r.payload)
      } catch (e) {
        if (!(e instanceof RecordFormatError)) throw e
        stop = { file: f.name, message: `${f.name} is damaged at offset ${r.offset}: ${e.message}` }
        drop(read.records.slice(i))
        break
      }
      const expected = next ?? (facts ? recoverable + 1n : batch.sequence)
      if (batch.sequence > expected) {
        stop = { file: f.name, message: `the write-ahead logs skip sequences ${expected}-${batch.sequence - 1n} before ${f.name}: a log is missing` }
        drop(read.records.slice(i))
        break
      }
      summary.firstSequence ??= batch.sequence
      summary.lastSequence = batch.sequence + BigInt(batch.count) - 1n
      next = summary.lastSequence + 1n
      if (summary.lastSequence > recoverable) recoverable = summary.lastSequence
    }
    if (stop) {
      drop(read.afterDamage)
    } else if (read.damage) {
      stop = { file: f.name, message: `${f.name} is damaged at offset ${read.damage.offset} (${read.damage.reason})` }
      drop(read.afterDamage)
    } else if (read.tornTail) {
      // a write cut short by a crash: never acknowledged, unless the ledger says otherwise
      stop = { file: f.name, message: `${f.name} is cut short at offset ${read.tornTail.offset} (${read.tornTail.reason})` }
      torn = true
    }
  }

  const problems: WalProblem[] = []
  if (acknowledged !== undefined) {
    if (recoverable < acknowledged) {
      const last = logs.at(-1)?.file
      const written = ledger?.log ? logName(BigInt(ledger.log)) : undefined
      let where = stop
      if (!where && written && !logs.some((l) => l.file === written)) where = { file: written, message: `${written}, the write-ahead log being written last, is missing` }
      if (!where && last) where = { file: last, message: `${last} ends at sequence ${recoverable}: it was cut short, or a newer log is missing` }
      where ??= { file: 'write-ahead log', message: 'no write-ahead log is left: the logs were deleted' }
      problems.push({ file: where.file, message: `${where.message}; writes up to sequence ${acknowledged} were acknowledged, a replay recovers them up to ${recoverable}` })
    }
  } else if (stop && (droppedRecords > 0 || !torn)) {
    problems.push(stop)
  }
  return { logs, acknowledged, recoverable, problems, unreplayed, ...(manifestUnread ? { manifestUnread } : {}) }
}

function readManifest(location: string, name: string): ManifestFacts {
  if (!/^MANIFEST-\d+$/.test(name)) throw new Error(`CURRENT names '${name.slice(0, 40)}', not a MANIFEST`)
  const read = readLogRecords(readFileSync(join(location, name)))
  if (read.damage) throw new Error(`${name} is damaged at offset ${read.damage.offset} (${read.damage.reason})`)
  const facts = emptyManifestFacts()
  for (const r of read.records) applyVersionEdit(facts, r.payload)
  return facts
}

function logName(n: bigint): string {
  return `${String(n).padStart(6, '0')}.log`
}
