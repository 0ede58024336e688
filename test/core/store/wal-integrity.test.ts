import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isMeroError, type MeroError } from '../../../src/core/primitives/errors.js'
import { readLogRecords } from '../../../src/core/store/log-records.js'
import { Store } from '../../../src/core/store/store.js'
import { WalLedger } from '../../../src/core/store/wal-ledger.js'
import { ROOT } from '../../helpers/harness.js'

/**
 * Issue 17, item 2: a store whose write-ahead log would lose acknowledged writes is refused with
 * an error naming the file (RocksDB's point-in-time recovery dropped the tail without a word);
 * `recover` replays what it can and says what was lost; RocksDB's own errors are classified
 * from their status (a checksum mismatch is corruption, not a lock).
 */
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const key = (i: number) => Buffer.from(`key-${String(i).padStart(4, '0')}`)

/** 400 keys: the first 300 flushed to table files by a reopen, the last 100 only in the log. */
async function storeWithTailInLog(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mero-wal-'))
  dirs.push(dir)
  const data = join(dir, 'data')
  let s = await Store.open(data)
  for (let i = 0; i < 300; i++) s.put('state', key(i), Buffer.alloc(64, i))
  await s.close()
  s = await Store.open(data)
  for (let i = 300; i < 400; i++) s.put('state', key(i), Buffer.alloc(64, i))
  await s.close()
  return data
}

const logOf = (data: string) => join(data, readdirSync(data).find((f) => f.endsWith('.log'))!)
const fingerprint = (data: string) =>
  readdirSync(data)
    .sort()
    .map((f) => `${f}:${createHash('sha256').update(readFileSync(join(data, f))).digest('hex')}`)

async function openError(data: string): Promise<MeroError> {
  const e = await Store.open(data).then(
    async (s) => {
      await s.close()
      return undefined
    },
    (err: unknown) => err,
  )
  if (!isMeroError(e)) throw new Error(`expected a MeroError, got ${String(e)}`)
  return e
}

const DAMAGES: [string, (log: string) => void][] = [
  ['bytes flipped inside a record', (log) => {
    const b = readFileSync(log)
    b.fill(0xff, 6000, 6004)
    writeFileSync(log, b)
  }],
  ['cut short in the middle of a record', (log) => truncateSync(log, Math.floor(readFileSync(log).length / 2) + 3)],
  ['cut short exactly between two records', (log) => truncateSync(log, readLogRecords(readFileSync(log)).records[50]!.offset)],
  ['deleted', (log) => unlinkSync(log)],
]

describe('the write-ahead log is verified before RocksDB replays it', () => {
  for (const [what, damage] of DAMAGES) {
    it(`a log with ${what} is refused, naming the file, and nothing changes; recover replays what it can and says what was lost`, async () => {
      const data = await storeWithTailInLog()
      const log = logOf(data)
      damage(log)
      const before = fingerprint(data)
      const e = await openError(data)
      expect(e.kind).toBe('StoreCorrupted')
      expect(e.message).toContain(log.split('/').pop())
      expect(e.message).toMatch(/writes up to sequence 400 were acknowledged, a replay recovers them up to 3\d\d/)
      expect(e.message).toContain('meroctl node repair')
      expect(fingerprint(data)).toEqual(before) // refused before RocksDB touched anything

      const s = await Store.open(data, { wal: 'recover' })
      try {
        const check = s.recovery!.check
        expect(check.acknowledged).toBe(400n)
        expect(check.recoverable).toBeGreaterThanOrEqual(300n)
        expect(check.recoverable).toBeLessThan(400n)
        expect(check.problems[0]!.file).toBe(log.split('/').pop())
        const kept = s.scan('state').length
        expect(kept).toBe(Number(check.recoverable)) // one key per write: what the report says is what is there
        if (what !== 'deleted') expect(existsSync(join(s.recovery!.savedTo!, log.split('/').pop()!))).toBe(true)
        if (what === 'bytes flipped inside a record') {
          // the records after the damage still read: the report lists their keys
          expect(check.unreplayed.length).toBeGreaterThan(0)
          expect(check.unreplayed.every((w) => w.column === 'state' && w.op === 'put')).toBe(true)
          expect(check.unreplayed.at(-1)!.key).toEqual(key(399))
        }
      } finally {
        await s.close()
      }
      // the recovered store is the new starting point: it opens without a word
      const again = await Store.open(data)
      expect(again.scan('state').length).toBeGreaterThanOrEqual(300)
      await again.close()
    })
  }

  it('a final record cut short by a crash before it was acknowledged is no damage', async () => {
    const data = await storeWithTailInLog()
    const log = logOf(data)
    const records = readLogRecords(readFileSync(log)).records
    truncateSync(log, records.at(-1)!.offset + 10) // the last write, torn
    new WalLedger(join(data, 'MERO-ACKNOWLEDGED')).note(399n) // and never acknowledged
    const s = await Store.open(data)
    expect(s.scan('state').length).toBe(399)
    await s.close()
  })

  it('a store killed with SIGKILL during writes reopens with every acknowledged write', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'mero-wal-')), 'data')
    dirs.push(join(data, '..'))
    // a writer process acknowledges each write on stdout (yielding, so that the pipe drains); it
    // is killed mid-stream
    const script = `
      const { Store } = await import(${JSON.stringify(join(ROOT, 'dist/core/store/store.js'))})
      const s = await Store.open(${JSON.stringify(data)})
      for (let i = 0; ; i++) {
        s.batch().put('state', Buffer.from('k' + i), Buffer.alloc(200, i)).put('delta', Buffer.from('d' + i), Buffer.alloc(50)).write()
        process.stdout.write(i + '\\n')
        if (i % 16 === 0) await new Promise((r) => setImmediate(r))
      }`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let acked = -1
    let buffered = ''
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop()!
        if (lines.length) acked = Number(lines.at(-1))
        if (acked >= 3000) child.kill('SIGKILL')
      })
      child.on('exit', () => resolve())
    })
    expect(acked).toBeGreaterThanOrEqual(3000)
    const s = await Store.open(data)
    const held = s.scan('state').length
    await s.close()
    expect(held).toBeGreaterThan(acked) // every acknowledged write is there (and the one in flight may be)
    expect(s.recovery).toBeUndefined()
  }, 60_000)
})

describe("RocksDB's errors are classified from their status and named", () => {
  it('a corrupt table file is corruption naming the file, not "locked by another process"', async () => {
    const data = await storeWithTailInLog()
    const s = await Store.open(data) // flushes the log into a second table file
    await s.close()
    const sst = readdirSync(data).filter((f) => f.endsWith('.sst')).sort()[0]!
    const b = readFileSync(join(data, sst))
    // the table's metadata (properties, index, footer) is at its end, and RocksDB reads it at open;
    // its data blocks (levels 0 and 1 are stored uncompressed) are only read when a key is
    b.fill(0xff, b.length - 300, b.length - 296)
    writeFileSync(join(data, sst), b)
    const e = await openError(data)
    expect(e.kind).toBe('StoreCorrupted')
    expect(e.message).toContain(sst)
    expect(e.message).toMatch(/corrupt/)
    expect(e.message).not.toMatch(/locked/)
    expect(e.details).toMatchObject({ status: 'LEVEL_CORRUPTION' })
  })

  it('a missing table file is a missing file, naming it', async () => {
    const data = await storeWithTailInLog()
    const sst = readdirSync(data).find((f) => f.endsWith('.sst'))!
    unlinkSync(join(data, sst))
    const e = await openError(data)
    expect(e.kind).toBe('StoreFileMissing')
    expect(e.message).toContain(sst)
  })

  it('a store held open elsewhere is a lock, and says so', async () => {
    const data = await storeWithTailInLog()
    const s = await Store.open(data)
    try {
      const e = await openError(data)
      expect(e.kind).toBe('AlreadyRunning')
      expect(e.message).toMatch(/locked by another process/)
    } finally {
      await s.close()
    }
  })
})
