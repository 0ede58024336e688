import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { Hlc } from '../../../src/core/primitives/hlc.js'
import { Runtime, type LoadedModule } from '../../../src/core/runtime/index.js'
import { ContextState } from '../../../src/core/state/index.js'
import { Store } from '../../../src/core/store/store.js'
import { CONTEXT_ID, EXECUTOR, ensureBuilt, fixture, json, kvStoreWasm, parse } from './fixtures.js'

/**
 * The runtime over the real CRDT state (core/state) in a real RocksDB: a successful call commits
 * its writes in one batch; a failed one leaves the stored root hash and every state row as they were.
 */
const runtime = new Runtime({ limits: { instructionBudget: 20_000_000 } })
let kv: LoadedModule
let edge: LoadedModule
let asEdge: LoadedModule
let dir: string
let store: Store
let state: ContextState
const clock = new Hlc(EXECUTOR)

function call(module: LoadedModule, method: string, args?: unknown) {
  const session = state.begin(EXECUTOR, clock)
  const outcome = runtime.execute({ module, method, args: args === undefined ? undefined : json(args), state: session, contextId: CONTEXT_ID, executor: EXECUTOR })
  if (!outcome.readOnly) {
    session.finish()
    const batch = store.batch()
    session.commitInto(batch)
    batch.write()
  }
  return { value: parse(outcome.result), events: outcome.events.map((e) => e.kind) }
}

const rows = () => [...store.scan('state'), ...store.scan('stateIndex')].map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`)

describe('runtime over the real state', () => {
  beforeAll(async () => {
    await ensureBuilt()
    kv = await runtime.load(kvStoreWasm())
    edge = await runtime.load(fixture('edge-cases'))
    asEdge = await runtime.load(fixture('as-edge-cases'))
  }, 120_000)

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mero-runtime-state-'))
    store = await Store.open(join(dir, 'db'))
    state = new ContextState(store, CONTEXT_ID)
  })

  afterEach(async () => {
    await store.close().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  it('kv-store: set, get, entries, remove; views change nothing; state survives a reopen', async () => {
    const empty = state.rootHash()
    call(kv, 'init')
    expect(call(kv, 'set', { key: 'a', value: '1' }).events).toEqual(['Inserted'])
    expect(call(kv, 'set', { key: 'b', value: '2' }).events).toEqual(['Inserted'])
    expect(call(kv, 'set', { key: 'a', value: '3' }).events).toEqual(['Updated'])
    const afterSets = state.rootHash()
    expect(afterSets.equals(empty)).toBe(false)
    expect(call(kv, 'get', { key: 'a' }).value).toBe('3')
    expect(call(kv, 'entries').value).toEqual({ a: '3', b: '2' })
    expect(call(kv, 'len').value).toBe(2)
    expect(state.rootHash().equals(afterSets)).toBe(true)
    expect(call(kv, 'remove', { key: 'a' })).toEqual({ value: '3', events: ['Removed'] })
    expect(call(kv, 'entries').value).toEqual({ b: '2' })
    const hash = state.rootHash()

    await store.close()
    store = await Store.open(join(dir, 'db'))
    state = new ContextState(store, CONTEXT_ID)
    expect(state.rootHash().equals(hash)).toBe(true)
    expect(call(kv, 'get', { key: 'b' }).value).toBe('2')
    call(kv, 'clear')
    expect(call(kv, 'len').value).toBe(0)
  })

  it('every failing edge case leaves the stored state untouched', () => {
    call(kv, 'set', { key: 'seed', value: 'x' })
    const hash = state.rootHash()
    const before = rows()
    const cases: [LoadedModule, string, string, unknown?][] = [
      [edge, 'write_then_trap', 'ExecutionFailed'],
      [edge, 'error_return', 'ExecutionFailed'],
      [edge, 'panic', 'ExecutionFailed'],
      [edge, 'spin', 'LimitExceeded'],
      [edge, 'grow', 'LimitExceeded'],
      [edge, 'big_return', 'LimitExceeded'],
      [edge, 'big_key', 'LimitExceeded'],
      [edge, 'many_logs', 'LimitExceeded'],
      [edge, 'many_events', 'LimitExceeded'],
      [edge, 'peek', 'ExecutionFailed'],
      [edge, 'nope', 'MethodNotFound'],
      [asEdge, 'assert_fails', 'ExecutionFailed'],
      [asEdge, 'alloc_forever', 'LimitExceeded'],
      [kv, 'set', 'ExecutionFailed', { key: 'k', value: 'v', extra: 1 }],
    ]
    for (const [module, method, kind, args] of cases) {
      let err: unknown
      try {
        call(module, method, args)
      } catch (e) {
        err = e
      }
      expect((err as MeroError | undefined)?.kind, method).toBe(kind)
      expect(state.rootHash().equals(hash), method).toBe(true)
    }
    let bad: unknown
    try {
      runtime.execute({ module: kv, method: 'set', args: Buffer.from('{"key":'), state: state.begin(EXECUTOR, clock), contextId: CONTEXT_ID, executor: EXECUTOR })
    } catch (e) {
      bad = e
    }
    expect((bad as MeroError).kind).toBe('InvalidInput')
    expect(rows()).toEqual(before)
  })

  it('sets, counters, vectors and root registers from the SDK', () => {
    const out = call(asEdge, 'collections')
    expect(out.value).toEqual({ tags: ['a'], hasA: true, hits: 41, list0: 'w', list1: 'y', listLen: 2, map: 'v2', root: 'r', missing: null })
    expect(out.events).toEqual(['Done'])
  })
})
