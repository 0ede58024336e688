import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { Hlc } from '../../../src/core/primitives/hlc.js'
import { Runtime, type LoadedModule } from '../../../src/core/runtime/index.js'
import type { ContextState } from '../../../src/core/state/index.js'
import { Store } from '../../../src/core/store/store.js'
import { EXECUTOR, ensureBuilt, json, kvStoreWasm, parse, numberedState } from './fixtures.js'

/**
 * kv-store end to end in-process: the AssemblyScript app, the SDK, the runtime and the real CRDT
 * state (core/state) over RocksDB, as a context's calls run them: a mutating call commits its
 * session in one batch; a view commits nothing.
 */
const runtime = new Runtime()
let kv: LoadedModule
let dir: string
let store: Store
let contexts = 0
const clock = new Hlc(EXECUTOR)

/** A fresh context's state (a context id of its own in the one store). */
function freshState(): ContextState {
  return numberedState(store, ++contexts)
}

function session(state: ContextState, hlc = clock) {
  return (method: string, args?: unknown) => {
    const s = state.begin(EXECUTOR, hlc)
    const out = runtime.execute({ module: kv, method, args: args === undefined ? undefined : json(args), state: s, contextId: state.contextId, executor: EXECUTOR })
    if (!out.readOnly) {
      s.finish()
      const batch = store.batch()
      s.commitInto(batch)
      batch.write()
    }
    return { value: parse(out.result), events: out.events.map((e) => ({ kind: e.kind, data: parse(e.data) })), readOnly: out.readOnly, instructions: out.instructions }
  }
}

describe('kv-store', () => {
  beforeAll(async () => {
    await ensureBuilt()
    kv = await runtime.load(kvStoreWasm())
    dir = mkdtempSync(join(tmpdir(), 'mero-kv-'))
    store = await Store.open(join(dir, 'db'))
  }, 120_000)
  afterAll(async () => {
    await store?.close().catch(() => {})
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('init, set, get, entries, len, remove, clear with their events', () => {
    const state = freshState()
    const call = session(state)
    expect(call('init').events).toEqual([])
    expect(call('set', { key: 'a', value: '1' }).events).toEqual([{ kind: 'Inserted', data: { key: 'a', value: '1' } }])
    expect(call('set', { key: 'a', value: '2' }).events).toEqual([{ kind: 'Updated', data: { key: 'a', value: '2' } }])
    call('set', { key: 'b', value: 'x "quoted" \n ü' })
    expect(call('get', { key: 'a' })).toMatchObject({ value: '2', readOnly: true })
    expect(call('get', { key: 'zz' }).value).toBeNull()
    expect(call('entries').value).toEqual({ a: '2', b: 'x "quoted" \n ü' })
    expect(call('len').value).toBe(2)
    expect(call('remove', { key: 'a' })).toMatchObject({ value: '2', events: [{ kind: 'Removed', data: { key: 'a' } }] })
    expect(call('remove', { key: 'a' })).toMatchObject({ value: null, events: [] })
    expect(call('entries').value).toEqual({ b: 'x "quoted" \n ü' })
    const cleared = call('clear')
    expect(cleared.events).toEqual([{ kind: 'Cleared', data: undefined }])
    expect(call('len').value).toBe(0)
    expect(call('entries').value).toEqual({})
  })

  it('the same calls at the same time give the same root hash; views leave it unchanged', () => {
    const a = freshState()
    const b = freshState()
    // (a write is stamped with its time: the same writes at another time hash differently)
    for (const s of [a, b]) {
      session(s, new Hlc(EXECUTOR, { now: () => 1_700_000_000_000 }))('set', { key: 'k', value: 'v' })
    }
    expect(a.rootHash().equals(b.rootHash())).toBe(true)
    // metering is deterministic: the same call on the same state costs the same
    expect(session(a)('get', { key: 'k' }).instructions).toBe(session(b)('get', { key: 'k' }).instructions)
    const before = a.rootHash()
    session(a)('get', { key: 'k' })
    session(a)('entries')
    expect(a.rootHash().equals(before)).toBe(true)
  })

  it('refuses unknown and missing arguments, and unknown methods, without writing', () => {
    const state = freshState()
    const call = session(state)
    const before = state.rootHash()
    const kind = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return `${(e as MeroError).kind}: ${(e as MeroError).message}`
      }
      return 'no error'
    }
    expect(kind(() => call('set', { key: 'a', value: '1', extra: true }))).toMatch(/^ExecutionFailed: .*unknown argument 'extra'/)
    expect(kind(() => call('set', { key: 'a' }))).toMatch(/^ExecutionFailed: .*argument 'value' must be a string/)
    expect(kind(() => call('sett', { key: 'a' }))).toMatch(/^MethodNotFound: .*no method 'sett'; it has: init, set, get/)
    expect(state.rootHash().equals(before)).toBe(true)
    expect(() => call('set', { key: 'a', value: '1' })).not.toThrow()
    expect(state.rootHash().equals(before)).toBe(false)
  })

  it('matches a model map under random operation sequences', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'ключ', '🙂', '')
    const op = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key, value: fc.string({ maxLength: 20, unit: 'grapheme' }) }),
      fc.record({ op: fc.constant('remove' as const), key }),
      fc.record({ op: fc.constant('clear' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const call = session(freshState())
        const model = new Map<string, string>()
        for (const o of ops) {
          if (o.op === 'set') {
            const existed = model.has(o.key)
            model.set(o.key, o.value)
            expect(call('set', { key: o.key, value: o.value }).events[0]?.kind).toBe(existed ? 'Updated' : 'Inserted')
          } else if (o.op === 'remove') {
            expect(call('remove', { key: o.key }).value).toBe(model.get(o.key) ?? null)
            model.delete(o.key)
          } else {
            call('clear')
            model.clear()
          }
        }
        const sorted = [...model].sort(([x], [y]) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
        expect(Object.entries(call('entries').value as object)).toEqual(sorted)
        expect(call('len').value).toBe(model.size)
      }),
      { numRuns: 200 },
    )
  })

  it('callable methods are the ABI-declared entry points', () => {
    expect([...kv.methods].sort()).toEqual(['clear', 'entries', 'get', 'init', 'len', 'remove', 'set'])
    expect([...kv.readOnlyMethods].sort()).toEqual(['entries', 'get', 'len'])
  })

  it('concurrent loads of the same module compile it once', async () => {
    const fresh = new Runtime()
    const [a, b] = await Promise.all([fresh.load(kvStoreWasm()), fresh.load(kvStoreWasm())])
    expect(a).toBe(b)
  })

  it('the compiled module is cached by application id', async () => {
    const again = await runtime.load(kvStoreWasm())
    expect(again).toBe(kv)
    expect(runtime.cached(kv.applicationId)).toBe(kv)
    let reads = 0
    expect(await runtime.loadById(kv.applicationId, () => (reads++, kvStoreWasm()))).toBe(kv)
    expect(reads).toBe(0)
    const fresh = new Runtime()
    expect((await fresh.loadById(kv.applicationId, () => (reads++, kvStoreWasm()))).applicationId.equals(kv.applicationId)).toBe(true)
    expect(reads).toBe(1)
    await expect(fresh.loadById(Buffer.alloc(32), () => kvStoreWasm())).rejects.toThrow(/do not hash to the application id/)
  })
})
