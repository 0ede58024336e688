import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hlc } from '../../../src/core/primitives/hlc.js'
import { Runtime, type LoadedModule } from '../../../src/core/runtime/index.js'
import { ContextState } from '../../../src/core/state/context-state.js'
import { TempStores } from '../state/helpers.js'
import { CONTEXT_ID, EXECUTOR, ensureBuilt, json, kvStoreWasm, parse } from './fixtures.js'

/**
 * Issue 17 item 5: kv-store's `entries` on 100,000 keys, under the default memory limit (1024
 * pages), through the real state (RocksDB), and its pages. The SDK builds the JSON in one buffer
 * from pages of the map; before, it concatenated strings with no garbage collector and ran out of
 * memory near 2,000 keys.
 */
const KEYS = Number(process.env.KV_KEYS ?? 100_000)
const runtime = new Runtime()
const stores = new TempStores()
let kv: LoadedModule
let state: ContextState
const clock = new Hlc(EXECUTOR)
const key = (i: number) => `key-${String(i).padStart(6, '0')}`
const value = (i: number) => `value "${i}" ü\n`

function call(method: string, args?: unknown) {
  const session = state.begin(EXECUTOR, clock)
  return runtime.execute({ module: kv, method, args: args === undefined ? undefined : json(args), state: session, contextId: CONTEXT_ID, executor: EXECUTOR })
}

describe('kv-store at 100,000 keys', () => {
  beforeAll(async () => {
    await ensureBuilt()
    kv = await runtime.load(kvStoreWasm())
    state = new ContextState((await stores.store()).store, CONTEXT_ID)
    // the keys go in through the state directly (100,000 wasm calls would only make this slow)
    for (let from = 0; from < KEYS; from += 20_000) {
      const s = state.begin(EXECUTOR, clock)
      for (let i = from; i < from + 20_000; i++) s.mapInsert('items', Buffer.from(key(i)), Buffer.from(value(i)))
      s.finish()
      const batch = state.store.batch()
      s.commitInto(batch)
      batch.write()
    }
  }, 120_000)
  afterAll(() => stores.cleanup())

  it('entries returns all of them, in key order, within the default memory limit', () => {
    const out = call('entries')
    const entries = parse(out.result) as Record<string, string>
    const keys = Object.keys(entries)
    expect(keys.length).toBe(KEYS)
    expect(keys[0]).toBe(key(0))
    expect(keys[KEYS - 1]).toBe(key(KEYS - 1))
    expect(entries[key(54_321)]).toBe(value(54_321))
    for (let i = 1; i < keys.length; i++) if (keys[i - 1]! >= keys[i]!) throw new Error(`keys out of order at ${i}`)
    // well inside the 64 MiB cap: the output (~3.4 MB) and one page at a time
    expect(out.memoryBytes).toBeLessThan(16 * 1024 * 1024)
  })

  it('entries pages: offset and limit, across the SDK’s own page size, to the end', () => {
    const page = (offset: number, limit: number) => Object.keys(parse(call('entries', { offset, limit }).result) as object)
    expect(page(0, 3)).toEqual([key(0), key(1), key(2)])
    expect(page(99_998, 10)).toEqual([key(99_998), key(99_999)])
    expect(page(KEYS, 10)).toEqual([])
    const wide = page(500, 2_500) // the SDK reads 1,000 per host call
    expect(wide.length).toBe(2_500)
    expect(wide[0]).toBe(key(500))
    expect(wide[2_499]).toBe(key(2_999))
    expect(parse(call('entries', { offset: 7, limit: 1 }).result)).toEqual({ [key(7)]: value(7) })
  })

  it('refuses a page argument that is not a non-negative integer', () => {
    for (const bad of [{ offset: -1 }, { limit: 1.5 }, { offset: 'x' }]) expect(() => call('entries', bad)).toThrow(/must be a non-negative integer/)
    expect(() => call('entries', { page: 1 })).toThrow(/unknown argument 'page'/)
  })
})
