import { chmodSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLogRecords } from '../../src/core/store/log-records.js'
import { SCHEMA_VERSION } from '../../src/core/node/migrations.js'
import { schemaVersionOf, writeSchemaVersion } from '../../src/core/store/schema.js'
import { Store } from '../../src/core/store/store.js'
import { Cluster } from '../helpers/cluster.js'
import { ROOT, TestHome, waitFor } from '../helpers/harness.js'

/**
 * Issue 17, item 2, with real daemons: merod refuses a damaged write-ahead log and names it;
 * `meroctl node repair` recovers what can be, says what was lost and catches up from a peer; a
 * store written before schema versions (a stored fixture of merod 0.1.0) is migrated, and a
 * store of a newer schema is refused.
 */
describe('store integrity in the daemon', () => {
  const t = new TestHome()
  const c = new Cluster(t)

  beforeAll(async () => {
    await c.start('a')
    await c.start('b')
    await c.share('a', ['b'])
  }, 90_000)

  afterAll(async () => {
    c.close()
    await t.cleanup()
  })

  /** `node start --json` that must fail: its error document. */
  async function startError(n: string): Promise<{ kind: string; message: string }> {
    const r = await t.cli(['node', 'start', '--node', n, '--json'])
    expect(r.code).toBe(1)
    return JSON.parse(r.stdout).error
  }

  it('merod refuses a damaged write-ahead log naming it; node repair recovers, says what was lost, and catches up from a peer', async () => {
    for (let i = 0; i < 20; i++) await c.call('b', 'set', { key: `b-${i}`, value: `${i}` })
    await waitFor(() => c.converged(['a', 'b']), 10_000)
    const before = await c.meta('a')
    await c.stop('b')

    // damage a record in the middle of B's log (its last writes are only there)
    const data = join(t.nodeDir('b'), 'data')
    const log = readdirSync(data).find((f) => f.endsWith('.log'))!
    const bytes = readFileSync(join(data, log))
    const records = readLogRecords(bytes).records
    bytes.fill(0xee, records[Math.floor(records.length / 2)]!.offset + 12, records[Math.floor(records.length / 2)]!.offset + 16)
    writeFileSync(join(data, log), bytes)

    const refused = await startError('b')
    expect(refused.kind).toBe('DaemonStartFailed')
    expect(refused.message).toContain(`${log} is damaged at offset`)
    expect(refused.message).toContain('`meroctl node repair --node b` recovers what can be recovered') // hints name the node
    expect(refused.message).not.toMatch(/sonic boom|at .*\.js:\d+/) // one message, no stack
    expect(readFileSync(join(data, log))).toEqual(bytes) // nothing was replayed or dropped

    const report = await t.json(['node', 'repair', '--node', 'b'])
    expect(report.sound).toBe(false)
    expect(report.problems[0]).toContain(log)
    expect(report.lostWrites).toBeGreaterThan(0)
    expect(report.unreplayed.deltas).toEqual([{ contextId: c.contextId, deltaIds: expect.any(Array) }])
    expect(readdirSync(report.savedTo)).toContain(log)
    expect(report.catchUp.peers).toBeGreaterThanOrEqual(1)
    c.rpc.b = t.rpc('b')
    // what B lost, A had: B is whole again
    await waitFor(() => c.converged(['a', 'b']), 15_000)
    expect((await c.meta('b')).rootHash).toBe(before.rootHash)
    expect((await c.call('b', 'get', { key: 'b-19' })).result).toBe('19')
    // and a repair of a sound store says so
    await c.stop('b')
    const again = await t.json(['node', 'repair', '--node', 'b', '--no-start'])
    expect(again).toMatchObject({ sound: true, problems: [] })
    await c.start('b')
  })

  it('a corrupt table file stops merod with an error naming corruption and the file, not a lock', async () => {
    await c.stop('b')
    const data = join(t.nodeDir('b'), 'data')
    const sst = readdirSync(data)
      .filter((f) => f.endsWith('.sst'))
      .sort((x, y) => statSync(join(data, y)).size - statSync(join(data, x)).size)[0]!
    const saved = readFileSync(join(data, sst))
    const bytes = Buffer.from(saved)
    bytes.fill(0xff, bytes.length - 120, bytes.length - 112) // the index and filter blocks, read at open
    writeFileSync(join(data, sst), bytes)
    const e = await startError('b')
    expect(e.message).toMatch(/the database at \S+ is corrupt in \S+ \(found while opening it\): Corruption: block checksum mismatch/)
    expect(e.message).toContain(sst)
    expect(e.message).not.toMatch(/locked/)
    writeFileSync(join(data, sst), saved)
    await c.start('b')
  })

  it('a node folder of merod 0.1.0 (schema 0, a stored fixture) is migrated at start and keeps its state', async () => {
    const dir = t.nodeDir('old')
    cpSync(join(ROOT, 'test/fixtures/store-v0/node'), dir, { recursive: true })
    chmodSync(dir, 0o700)
    chmodSync(join(dir, 'identity.key'), 0o600)
    await t.start('old')
    const ctx = await t.json(['context', 'get', 'notes', '--node', 'old'])
    expect(ctx).toMatchObject({ contextId: '2KezF9URvoENTWznEYfZnsjCmb2M6LL7Bj9LM41qEtnr', rootHash: '99bb0bb19a2c2e2e5f79d0bf5513a520dc4a0a8d041032a797c91115583c354b', deltas: 5 })
    expect((await t.json(['call', 'notes', 'entries', '--node', 'old'])).result).toEqual({ alpha: 'v-alpha', beta: 'v-beta', delta: 'after a restart', gamma: 'v-gamma' })
    // the migration to version 1 dropped the aliases "." and "..", and kept the others
    const aliases = (await t.json(['alias', 'list', '--node', 'old'])).aliases.map((a: { alias: string }) => a.alias).sort()
    expect(aliases).toEqual(['kv', 'notes'])
    expect(readFileSync(join(dir, 'merod.log'), 'utf8')).toMatch(/"schema":"0 → 1: record the schema version; drop node-local aliases named \\"\.\\" or \\"\.\.\\" \(2 aliases dropped\)".*"msg":"store migrated"/)
    await t.json(['node', 'stop', '--node', 'old'])
    const store = await Store.open(join(dir, 'data'))
    expect(schemaVersionOf(store)).toBe(SCHEMA_VERSION)
    await store.close()
  })

  it('a store of a newer schema is refused with a clear message and left as it was', async () => {
    const data = join(t.nodeDir('old'), 'data')
    let store = await Store.open(data)
    const batch = store.batch()
    writeSchemaVersion(batch, 7)
    batch.write()
    await store.close()
    const e = await startError('old')
    expect(e.message).toMatch(new RegExp(`has schema version 7, newer than the ${SCHEMA_VERSION} this merod \\([\\d.]+\\) reads: it was written by a newer merod`))
    store = await Store.open(data)
    expect(schemaVersionOf(store)).toBe(7)
    await store.close()
  })
})
