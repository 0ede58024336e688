import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { sha256 } from '../../../src/core/primitives/hash.js'
import { Runtime, type InstrumentedStore, type LoadedModule } from '../../../src/core/runtime/index.js'
import { decodeRecord, encodeRecord, recordKey } from '../../../src/core/runtime/instrumented-cache.js'
import { MemoryHostState } from '../../helpers/memory-host-state.js'
import { closeNodes, newNode } from '../context/helpers.js'
import { CONTEXT_ID, EXECUTOR, ensureBuilt, json, kvStoreWasm, parse } from './fixtures.js'

/** Instrumented modules kept between runs: a restarted node compiles what it instrumented before. */
afterEach(closeNodes)

class MapStore implements InstrumentedStore {
  readonly rows = new Map<string, Uint8Array>()
  puts = 0
  get(key: Buffer) {
    return this.rows.get(key.toString('hex'))
  }
  put(key: Buffer, record: Uint8Array) {
    this.puts++
    this.deleteApplication(key.subarray(0, 32))
    this.rows.set(key.toString('hex'), record)
  }
  deleteApplication(applicationId: Buffer) {
    for (const k of this.rows.keys()) if (k.startsWith(applicationId.toString('hex'))) this.rows.delete(k)
  }
}

/** set then get through a module, on a fresh state: what a kv-store call gives back. */
function setAndGet(runtime: Runtime, module: LoadedModule) {
  const state = new MemoryHostState()
  const run = (method: string, args: unknown) => {
    const overlay = state.overlay()
    const out = runtime.execute({ module, method, args: json(args), state: overlay, contextId: CONTEXT_ID, executor: EXECUTOR })
    overlay.commit()
    return { value: parse(out.result), events: out.events.map((e) => e.kind), instructions: out.instructions }
  }
  return [run('set', { key: 'k', value: 'v' }), run('get', { key: 'k' })]
}

const appId = () => sha256(kvStoreWasm())

describe('instrumented modules kept between runs', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('a second runtime compiles the instrumentation the first one kept, and the module runs the same', async () => {
    const store = new MapStore()
    const first = new Runtime({ instrumented: store })
    const validated = await first.validate(kvStoreWasm()) // what installing does
    expect(store.puts).toBe(1)
    const record = decodeRecord(store.get(recordKey(appId(), first.limits.maxMemoryPages))!)
    expect(Buffer.from(record.instrumented).equals(Buffer.from(validated.instrumented))).toBe(true)

    const second = new Runtime({ instrumented: store })
    const kept = await second.load(kvStoreWasm())
    expect(store.puts).toBe(1) // not instrumented again: that would have kept a new record
    const plain = new Runtime()
    const fresh = await plain.load(kvStoreWasm())
    expect([...kept.methods].sort()).toEqual([...fresh.methods].sort())
    expect([...kept.readOnlyMethods].sort()).toEqual([...fresh.readOnlyMethods].sort())
    expect(kept.maxMemoryPages).toBe(fresh.maxMemoryPages)
    // the same results and the same metering
    expect(setAndGet(second, kept)).toEqual(setAndGet(plain, fresh))
  })

  it('a record that does not decode, does not compile or does not fit the module is made again', async () => {
    const key = (r: Runtime) => recordKey(appId(), r.limits.maxMemoryPages)
    const good = new MapStore()
    await new Runtime({ instrumented: good }).validate(kvStoreWasm())
    const valid = decodeRecord(good.get(key(new Runtime()))!)
    const damaged = [
      Buffer.from('not a record'),
      encodeRecord({ ...valid, instrumented: Buffer.from('\0asm garbage') }),
      encodeRecord({ ...valid, entryPoints: ['init'] }), // the ABI's methods are missing
    ]
    for (const bad of damaged) {
      const store = new MapStore()
      const runtime = new Runtime({ instrumented: store })
      store.put(key(runtime), bad)
      const module = await runtime.load(kvStoreWasm())
      expect(setAndGet(runtime, module)[1]!.value).toBe('v')
      expect(store.puts).toBe(2) // replaced
      expect(decodeRecord(store.get(key(runtime))!).entryPoints.sort()).toEqual(valid.entryPoints.sort())
    }
  })

  it('another memory cap instruments again', async () => {
    const store = new MapStore()
    await new Runtime({ instrumented: store }).validate(kvStoreWasm())
    const capped = new Runtime({ limits: { maxMemoryPages: 64 }, instrumented: store })
    const module = await capped.load(kvStoreWasm())
    expect(module.maxMemoryPages).toBe(64)
    expect(store.puts).toBe(2)
    expect(recordKey(appId(), 64).equals(recordKey(appId(), 1024))).toBe(false)
  })

  it("a node keeps them in its store, and uninstalling an application drops its records", async () => {
    const node = await newNode()
    const meta = await node.applications.install(kvStoreWasm())
    const id = fromBase58(meta.applicationId, 'application id', 32)
    expect(node.store.scanPrefix('instrumented', id)).toHaveLength(1)
    await node.runtime.loadById(id, () => node.applications.bytes(id))
    expect(node.store.scanPrefix('instrumented', id)).toHaveLength(1)
    // a record of an earlier build (another fingerprint) is replaced, not kept beside
    const [[key, record]] = node.store.scanPrefix('instrumented', id) as [[Buffer, Buffer]]
    node.store.put('instrumented', Buffer.concat([id, Buffer.alloc(32, 1)]), record)
    await node.runtime.validate(kvStoreWasm())
    expect(node.store.scanPrefix('instrumented', id).map(([k]) => k.toString('hex'))).toEqual([key.toString('hex')])
    node.runtime.evict(id) // what app uninstall does
    expect(node.store.scanPrefix('instrumented', id)).toHaveLength(0)
  })
})
