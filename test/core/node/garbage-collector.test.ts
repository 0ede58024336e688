import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import type { NodeEvent } from '../../../src/core/node/events.js'
import { MeroNode } from '../../../src/core/node/node.js'
import type { GarbageCollectorOptions } from '../../../src/core/node/garbage-collector.js'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { Store } from '../../../src/core/store/store.js'
import { ensureBuilt, kvStoreWasm } from '../runtime/fixtures.js'
import { memberBesideContext, stopNetworkedNodes } from '../../helpers/networked-node.js'

/** The GC timer in process: tombstones past the retention, unreferenced blobs, bounded runs. */
const HOUR = 3600_000
const opened: { store: Store; dir: string; node: MeroNode }[] = []
let clock = Date.now()

async function newNode(gc: Partial<GarbageCollectorOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mero-gc-'))
  const store = await Store.open(join(dir, 'data'))
  const node = new MeroNode({ store, identity: generateKeyPair(), blobsDir: join(dir, 'blobs'), gc: { tombstoneRetentionMs: 24 * HOUR, now: () => clock, ...gc } })
  opened.push({ store, dir, node })
  const events: NodeEvent[] = []
  node.events.on((e) => events.push(e))
  return { node, store, events }
}

afterEach(async () => {
  await stopNetworkedNodes()
  for (const { store, dir, node } of opened.splice(0)) {
    await node.stop()
    await store.close().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  clock = Date.now()
})

beforeAll(() => ensureBuilt(), 120_000)

/** A kv-store context with `removed` keys set then removed (tombstones) and one live key. */
async function contextWithTombstones(node: MeroNode, groupId: Buffer, removed: number): Promise<Buffer> {
  const app = await node.applications.install(kvStoreWasm())
  const contextId = (await node.contexts.create(groupId, fromBase58(app.applicationId), {})).contextId
  await node.contexts.execute(contextId, 'set', { key: 'live', value: 'kept' })
  for (let i = 0; i < removed; i++) {
    await node.contexts.execute(contextId, 'set', { key: `gone-${i}`, value: 'x' })
    await node.contexts.execute(contextId, 'remove', { key: `gone-${i}` })
  }
  return contextId
}

describe('garbage collection', () => {
  it('collects tombstones only once they are older than the retention; live state and the root hash stay', async () => {
    const { node, events } = await newNode()
    const groupId = node.createGroup()
    const contextId = await contextWithTombstones(node, groupId, 5)
    const root = node.contexts.require(contextId).rootHash.toString('hex')
    expect(node.gc.run()).toMatchObject({ tombstones: 0, contexts: 1, more: false })
    clock += 23 * HOUR
    expect(node.gc.run().tombstones).toBe(0)
    clock += 2 * HOUR
    expect(node.gc.run().tombstones).toBe(5)
    expect(node.gc.run().tombstones).toBe(0)
    expect(node.contexts.require(contextId).rootHash.toString('hex')).toBe(root)
    expect((await node.contexts.execute(contextId, 'get', { key: 'live' })).result).toBe('kept')
    expect((await node.contexts.execute(contextId, 'get', { key: 'gone-1' })).result).toBeNull()
    expect(events.filter((e) => e.type === 'gc.finished').map((e) => (e as { tombstones: number }).tombstones)).toEqual([0, 0, 5, 0])
    expect(node.gc.totals).toMatchObject({ runs: 4, tombstones: 5 })
  })

  it('deletes blobs no live holder references (none, or an uninstalled application), once old enough; keeps the rest', async () => {
    const { node, store } = await newNode({ blobMinAgeMs: 60_000 })
    const user = await node.blobs.add(randomBytes(3000), 'user')
    const unheld = await node.blobs.add(randomBytes(3000), 'user')
    // held by nobody (a crash between a release and the deletion)
    store.put('blob', Buffer.concat([Buffer.from([0x01]), fromBase58(unheld.blobId)]), Buffer.from(JSON.stringify({ ...unheld, holders: [] })))
    const app = await node.applications.install(kvStoreWasm())
    // an install interrupted after the blob was stored: its holder names no installed application
    const stale = await node.blobs.add(randomBytes(3000), `app:${user.blobId}`)
    expect(node.gc.run().blobs).toBe(0) // too young
    clock += 120_000
    expect(node.gc.run().blobs).toBe(2)
    expect(node.blobs.has(fromBase58(unheld.blobId))).toBe(false)
    expect(node.blobs.has(fromBase58(stale.blobId))).toBe(false)
    expect(node.blobs.has(fromBase58(user.blobId))).toBe(true)
    expect(node.blobs.has(fromBase58(app.applicationId))).toBe(true)
    await expect(node.applications.bytes(fromBase58(app.applicationId))).resolves.toHaveLength(app.size)
  })

  it('bounds each run (contexts, blobs) and resumes where the last run stopped', async () => {
    const { node } = await newNode({ maxContextsPerRun: 2, maxBlobsPerRun: 1, blobMinAgeMs: 0 })
    const groupId = node.createGroup()
    const ids = [await contextWithTombstones(node, groupId, 1), await contextWithTombstones(node, groupId, 2), await contextWithTombstones(node, groupId, 3)]
    for (let i = 0; i < 2; i++) await node.blobs.add(randomBytes(100), 'app:11111111111111111111111111111111')
    clock += 25 * HOUR
    const first = node.gc.run()
    const second = node.gc.run()
    expect([first.contexts, first.more, first.blobs]).toEqual([2, true, 1])
    expect([second.contexts, second.more, second.blobs]).toEqual([1, false, 1])
    expect(first.tombstones + second.tombstones).toBe(6)
    expect(ids).toHaveLength(3)
    expect(node.gc.run()).toMatchObject({ contexts: 2, tombstones: 0, blobs: 0 })
  })

  it('runs on its timer from start to stop', async () => {
    const { node, events } = await newNode({ intervalMs: 30 })
    await node.start()
    const runs = () => events.filter((e) => e.type === 'gc.finished').length
    await vi.waitFor(() => expect(runs()).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 10 })
    await node.stop()
    const after = runs()
    // a probe on the same period, armed after the stop: by its third tick, a timer still running
    // would have fired at least twice (timers of one period fire in the order they were armed)
    let ticks = 0
    await new Promise<void>((done) => {
      const probe = setInterval(() => ++ticks === 3 && (clearInterval(probe), done()), 30)
    })
    expect(runs()).toBe(after)
  })

  it('a run that fails is counted and reported, and the timer goes on: the next runs succeed once the cause is gone', async () => {
    const { node, events } = await newNode({ intervalMs: 20 })
    const blobsDir = join(dirname(node.store.location), 'blobs')
    // the blob folder is not a folder: every run's orphan sweep fails
    rmSync(blobsDir, { recursive: true, force: true })
    writeFileSync(blobsDir, 'not a folder')
    await node.start()
    const finished = () => events.filter((e) => e.type === 'gc.finished') as { error?: string }[]
    await vi.waitFor(() => expect(finished().filter((e) => e.error).length).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 10 })
    expect(finished()[0]).toMatchObject({ error: expect.stringMatching(/ENOTDIR|not a directory/), tombstones: 0 })
    expect(node.gc.totals.failures).toBeGreaterThanOrEqual(2)
    // the node itself is unaffected, and once the folder is back the runs succeed
    const groupId = node.createGroup()
    rmSync(blobsDir)
    mkdirSync(blobsDir)
    const contextId = await contextWithTombstones(node, groupId, 1)
    clock += 25 * HOUR
    await vi.waitFor(() => expect(finished().some((e) => !e.error && (e as { tombstones: number }).tombstones === 1)).toBe(true), { timeout: 10_000, interval: 10 })
    expect((await node.contexts.execute(contextId, 'get', { key: 'live' })).result).toBe('kept')
  })

  it('collecting on its timer while two nodes write, remove and replicate: they converge, with tombstones collected on the way', async () => {
    // retention 0: every tombstone is collected as soon as a run sees it
    const gc = { intervalMs: 15, tombstoneRetentionMs: 0, blobMinAgeMs: 0 }
    const { a, c, contextId } = await memberBesideContext({ a: { gc }, c: { gc } })
    await c.node.contextReplicator!.join(contextId)
    const runs = { a: 0, c: 0 }
    a.node.events.on((e) => void (e.type === 'gc.finished' && !('error' in e && e.error) && runs.a++))
    c.node.events.on((e) => void (e.type === 'gc.finished' && !('error' in e && e.error) && runs.c++))
    // both write the same keys and remove each other's, with gossip in between
    for (let i = 0; i < 120; i++) {
      const n = i % 2 ? a : c
      await n.node.contexts.execute(contextId, i % 3 === 2 ? 'remove' : 'set', i % 3 === 2 ? { key: `k${i % 7}` } : { key: `k${i % 7}`, value: `${i}` })
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 20)) // pace the writes: the collector's timer runs between them
    }
    const root = (x: typeof a) => x.node.contexts.require(contextId).rootHash.toString('hex')
    await vi.waitFor(() => expect(root(c)).toBe(root(a)), { timeout: 10_000, interval: 20 })
    expect((await a.node.contexts.execute(contextId, 'entries', {})).result).toEqual((await c.node.contexts.execute(contextId, 'entries', {})).result)
    expect(runs.a + runs.c).toBeGreaterThan(2)
    expect(a.node.gc.totals.tombstones + c.node.gc.totals.tombstones).toBeGreaterThan(0)
    expect(a.node.gc.totals.failures + c.node.gc.totals.failures).toBe(0)
  })
})
