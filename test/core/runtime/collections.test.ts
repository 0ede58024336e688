import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Hlc } from '../../../src/core/primitives/hlc.js'
import { Runtime, type LoadedModule } from '../../../src/core/runtime/index.js'
import { ContextState } from '../../../src/core/state/context-state.js'
import type { StateSession } from '../../../src/core/state/session.js'
import { TempStores } from '../state/helpers.js'
import { CONTEXT_ID, EXECUTOR, ensureBuilt, fixture, json, parse } from './fixtures.js'

/**
 * The SDK's issue-21 collections through a real AssemblyScript module, the runtime and the real
 * state (RocksDB): sorted maps and sets, registers, grow-only and PN counters, texts, private
 * storage, the JSON writer; and views that write are refused.
 */
const runtime = new Runtime()
const stores = new TempStores()
let app: LoadedModule
let state: ContextState
const clock = new Hlc(EXECUTOR)

/** Runs a method in its own session and commits what it wrote (as the context manager does). */
function call(method: string, args?: unknown): { value: unknown; session: StateSession } {
  const session = state.begin(EXECUTOR, clock)
  const out = runtime.execute({ module: app, method, args: args === undefined ? undefined : json(args), state: session, contextId: CONTEXT_ID, executor: EXECUTOR })
  const res = session.finish()
  const batch = state.store.batch()
  session.privateInto(batch)
  if (res.actions.length) session.commitInto(batch)
  batch.write()
  return { value: parse(out.result), session }
}

describe('SDK collections (issue 21) through the runtime and the real state', () => {
  beforeAll(async () => {
    await ensureBuilt()
    app = await runtime.load(fixture('as-collections'))
    state = new ContextState((await stores.store()).store, CONTEXT_ID)
  }, 120_000)
  afterAll(() => stores.cleanup())

  it('sorted maps: ranges, prefixes, pages both ways, first and last, in key order', () => {
    for (const [key, value] of [['c', '3'], ['a', '1'], ['bb', '22'], ['b', '2'], ['d', '4']]) call('put', { key, value })
    expect(call('sorted').value).toEqual({
      len: 5,
      all: [['a', '1'], ['b', '2'], ['bb', '22'], ['c', '3'], ['d', '4']],
      page: [['b', '2'], ['bb', '22']],
      pageReverse: [['d', '4'], ['c', '3']],
      range: [['b', '2'], ['bb', '22'], ['c', '3']],
      from: [['c', '3'], ['d', '4']],
      prefix: [['b', '2'], ['bb', '22']],
      first: 'a',
      last: 'd',
    })
  })

  it('a leaderboard: descending ordered keys put the top scores on page 0', () => {
    // scores i*7 % 100 for i < 30: the top three are 98 (p14), 96 (p28), 91 (p13)
    expect(call('leaderboard', { n: 30 }).value).toEqual([
      [expect.stringMatching(/:p14$/), 'p14'],
      [expect.stringMatching(/:p28$/), 'p28'],
      [expect.stringMatching(/:p13$/), 'p13'],
    ])
  })

  it('sorted sets, registers, grow-only and PN counters', () => {
    expect(call('sets').value).toEqual({ all: ['a', 'ab', 'b'], prefix: ['a', 'ab'], last: 'b', addedTwice: false, has: true, len: 3 })
    expect(call('register').value).toEqual({ before: null, previous: 'first', now: 'second', cleared: 'second', after: null })
    expect(call('counters').value).toEqual({ visits: 5, balance: 5 })
    expect(call('counters').value).toEqual({ visits: 10, balance: 10 })
  })

  it('texts: insert and delete at code point positions, emoji and accents included, across calls', () => {
    expect(call('insert', { pos: 0, text: 'hello world' }).value).toBe(11)
    expect(call('insert', { pos: 5, text: ', 😀 é' }).value).toBe(16)
    expect(call('read').value).toBe('hello, 😀 é world')
    expect(call('remove', { pos: 7, count: 2 }).value).toBe(2) // the emoji and its space
    expect(call('read').value).toBe('hello, é world')
    expect(call('read', { start: 7, end: 8 }).value).toBe('é')
    expect(call('length').value).toBe(14)
    expect(call('remove', { pos: 13, count: 100 }).value).toBe(1)
    expect(() => call('insert', { pos: 99, text: 'x' })).toThrow(/position 99 is outside the text \(length 13\)/)
    expect(call('read').value).toBe('hello, é worl')
  })

  it('private storage: kept on this node, outside the root hash and every delta', () => {
    const before = state.rootHash()
    const { value, session } = call('secret_set', { key: 'k', value: 's3cret' })
    expect(value).toBeNull()
    expect(session.finish().actions).toEqual([])
    expect(state.rootHash()).toEqual(before)
    expect(call('secret_get', { key: 'k' }).value).toBe('s3cret')
    expect(call('secret_set', { key: 'k', value: 'other' }).value).toBe('s3cret')
    // and nothing of it in a snapshot a peer could take
    const snapshot = state.exportSnapshot({ limit: 10_000 }).records.map((r) => r.toString('latin1'))
    expect(snapshot.some((r) => r.includes('other') || r.includes('s3cret'))).toBe(false)
  })

  it('the JSON writer: escapes, integer extremes, nesting and commas', () => {
    expect(call('json').value).toEqual({ s: 'quote " backslash \\ newline \n tab \t bell \u0007 é 😀', n: -9223372036854775808, u: 18446744073709551615, z: 0, nested: [{}, [], null, true], 'k "x"': [1, 2] })
    expect(call('map_page', { offset: 1, limit: 3 }).value).toEqual({ k1: 'v"1', k2: 'v"2', k3: 'v"3' })
  })

  it('views that write (text, private storage, sorted map, register, counter) are refused and change nothing', () => {
    const before = state.rootHash()
    for (const [method, fn] of [['view_text', 'text_insert'], ['view_private', 'private_storage_write'], ['view_sorted', 'sorted_map_insert'], ['view_register', 'register_set'], ['view_counter', 'gcounter_increment']]) {
      expect(() => call(method!)).toThrow(new RegExp(`'${method}' is a read-only view and cannot write state \\(it called ${fn}\\)`))
    }
    expect(state.rootHash()).toEqual(before)
    expect(call('secret_get', { key: 'k' }).value).toBe('other')
  })
})
