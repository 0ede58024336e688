import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Runtime, type LoadedModule } from '../../../src/core/runtime/index.js'
import { MemoryHostState } from '../../helpers/memory-host-state.js'
import { CONTEXT_ID, EXECUTOR, ensureBuilt, fixture, json, parse } from './fixtures.js'

/** The AssemblyScript SDK through a test app: JSON in and out, collections, ids, time, randomness. */
const NOW = 1_700_000_000_123_456_789n
const runtime = new Runtime({ clock: () => NOW })
let app: LoadedModule

const run = (method: string, args?: unknown, state = new MemoryHostState()) =>
  runtime.execute({ module: app, method, args: args === undefined ? undefined : json(args), state, contextId: CONTEXT_ID, executor: EXECUTOR })

describe('AssemblyScript SDK', () => {
  beforeAll(async () => {
    await ensureBuilt()
    app = await runtime.load(fixture('as-edge-cases'))
  }, 120_000)

  it('reads and writes JSON: any object of strings, integers, booleans, nulls and nesting round-trips', () => {
    const leaf = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.integer({ min: -1e9, max: 1e9 }), fc.boolean(), fc.constant(null))
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), tie('tree'), { maxKeys: 4 })),
    }))
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), tree, { maxKeys: 5 }), (value) => {
        expect(parse(run('json_echo', value).result)).toEqual(value)
      }),
      { numRuns: 150 },
    )
  })

  it('parses escapes, unicode escapes and numbers as JSON.parse does', () => {
    const text = '{"s":"a\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00","n":-12.5e2,"t":true,"z":[]}'
    const raw = runtime.execute({ module: app, method: 'json_echo', args: Buffer.from(text), state: new MemoryHostState(), contextId: CONTEXT_ID, executor: EXECUTOR })
    expect(parse(raw.result)).toEqual(JSON.parse(text))
  })

  it('collections: set, counter, vector, map and root registers map onto the host state', () => {
    const state = new MemoryHostState()
    const out = run('collections', undefined, state)
    expect(parse(out.result)).toEqual({ tags: ['a'], hasA: true, hits: 41, list0: 'w', list1: 'y', listLen: 2, map: 'v2', root: 'r', missing: null })
    expect(out.logs).toEqual(['collections done'])
    expect(out.events.map((e) => e.kind)).toEqual(['Done'])
    expect(state.setValues('tags').map((b) => Buffer.from(b).toString())).toEqual(['a'])
    expect(state.counterValue('hits')).toBe(41n)
    expect(state.vectorLen('list')).toBe(2)
    expect(state.mapLen('map')).toBe(1)
  })

  it('context id, executor id, time and random bytes', () => {
    expect(parse(run('identity').result)).toEqual({ context: CONTEXT_ID.toString('hex'), executor: EXECUTOR.toString('hex'), time: NOW.toString(), randomLen: 16 })
  })
})
