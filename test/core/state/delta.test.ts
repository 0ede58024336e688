import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Action, decodeDelta, DEFAULT_DELTA_LIMITS, type Delta, deltaId, encodeDelta } from '../../../src/core/state/actions.js'
import { CollectionKind } from '../../../src/core/state/ids.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'

const node = Buffer.alloc(32, 3)
const sample: Delta = {
  contextId: Buffer.alloc(32, 1),
  parents: [Buffer.alloc(32, 2), Buffer.alloc(32, 4)],
  hlc: { time: 123456789n, node },
  author: Buffer.alloc(32, 5),
  actions: [
    { type: 'update', target: { kind: CollectionKind.Map, collection: 'items', key: Buffer.from('k') }, value: Buffer.from('v'), removes: [{ node: Buffer.alloc(32, 1), time: 5n }, { node, time: 9n }] },
    { type: 'delete', target: { kind: CollectionKind.Storage, collection: '', key: Buffer.from('r') }, removes: [] },
    { type: 'update', target: { kind: CollectionKind.Set, collection: 's', key: Buffer.from('e') }, value: Buffer.alloc(0), removes: [] },
    { type: 'update', target: { kind: CollectionKind.Vector, collection: 'v', key: Buffer.alloc(44, 6) }, value: Buffer.from('x'), removes: [] },
    { type: 'insert', vector: 'v', seq: 2, position: 7n, value: Buffer.from('y') },
    { type: 'counter', counter: 'c', grow: 10n, shrink: 3n },
  ],
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  try {
    decodeDelta(bytes)
  } catch (e) {
    expect(isMeroError(e, 'InvalidInput')).toBe(true)
    expect((e as Error).message).toMatch(pattern)
    return
  }
  throw new Error('decodeDelta accepted malformed input')
}

/** Offset of the first action's tag: ctx 32, parents 4 + 64, hlc 40, author 32, count 4. */
const FIRST_TAG = 32 + 4 + 64 + 40 + 32 + 4

describe('delta encoding', () => {
  it('round-trips and its id is the SHA-256 of the canonical bytes', () => {
    const bytes = encodeDelta(sample)
    const back = decodeDelta(bytes)
    expect(back).toEqual(sample)
    expect(encodeDelta(back)).toEqual(bytes)
    expect(deltaId(bytes)).toEqual(deltaId(encodeDelta(back)))
    expect(deltaId(bytes)).not.toEqual(deltaId(encodeDelta({ ...sample, parents: [sample.parents[0]!] })))
  })

  it('rejects every truncation and any trailing byte', () => {
    const bytes = encodeDelta(sample)
    for (let n = 0; n < bytes.length; n++) rejects(bytes.subarray(0, n), /truncated|empty|not sorted|exceeds|unknown/)
    rejects(Buffer.concat([bytes, Buffer.from([0])]), /trailing/)
  })

  it('rejects unknown action tags and collection kinds', () => {
    const bytes = encodeDelta(sample)
    const badTag = Buffer.from(bytes)
    badTag[FIRST_TAG] = 9
    rejects(badTag, /unknown action tag 9/)
    const badKind = Buffer.from(bytes)
    badKind[FIRST_TAG + 1] = 4 // counter is not an entry target
    rejects(badKind, /unknown collection kind 4/)
  })

  it('rejects oversize input, too many parents, duplicate parents and non-canonical stamps', () => {
    rejects(Buffer.alloc(DEFAULT_DELTA_LIMITS.maxDeltaBytes + 1), /more than/)
    const many = { ...sample, parents: Array.from({ length: 257 }, (_, i) => Buffer.alloc(32, i % 256).fill(i >> 8, 0, 1)) }
    rejects(encodeDelta(many), /parents, more than the 256/)
    rejects(encodeDelta({ ...sample, parents: [node, node] }), /parent is listed twice/)
    const unsorted: Action = { type: 'delete', target: { kind: CollectionKind.Map, collection: 'm', key: Buffer.from('k') }, removes: [{ node, time: 1n }, { node: Buffer.alloc(32, 1), time: 1n }] }
    rejects(encodeDelta({ ...sample, actions: [unsorted] }), /not sorted/)
  })

  it('rejects malformed targets', () => {
    const mk = (a: Action) => encodeDelta({ ...sample, actions: [a] })
    rejects(mk({ type: 'update', target: { kind: CollectionKind.Set, collection: 's', key: Buffer.from('e') }, value: Buffer.from('x'), removes: [] }), /set update carries a value/)
    rejects(mk({ type: 'delete', target: { kind: CollectionKind.Vector, collection: 'v', key: Buffer.alloc(43) }, removes: [] }), /44 bytes/)
    rejects(mk({ type: 'delete', target: { kind: CollectionKind.Map, collection: '', key: Buffer.from('k') }, removes: [] }), /name is empty/)
    rejects(mk({ type: 'delete', target: { kind: CollectionKind.Storage, collection: 'x', key: Buffer.from('k') }, removes: [] }), /exceeds 0/)
    rejects(mk({ type: 'counter', counter: 'x'.repeat(257), grow: 1n, shrink: 0n }), /exceeds 256/)
    const badUtf8 = Buffer.from(mk({ type: 'counter', counter: 'ab', grow: 1n, shrink: 0n }))
    badUtf8[FIRST_TAG + 1 + 4] = 0xff
    rejects(badUtf8, /UTF-8/)
  })

  it('decodes what it encodes, for arbitrary deltas (property)', () => {
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b))
    const buf = fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b))
    const name = fc.string({ minLength: 1, maxLength: 8 })
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    const dots = fc.uniqueArray(bytes32, { maxLength: 3, selector: (b) => b.toString('hex') }).chain((nodes) =>
      fc.tuple(...nodes.sort(Buffer.compare).map((n) => u64.map((time) => ({ node: n, time })))),
    )
    const target = fc.oneof(
      fc.record({ kind: fc.constant(CollectionKind.Storage), collection: fc.constant(''), key: buf }),
      fc.record({ kind: fc.constant(CollectionKind.Map), collection: name, key: buf }),
      fc.record({ kind: fc.constant(CollectionKind.Vector), collection: name, key: fc.uint8Array({ minLength: 44, maxLength: 44 }).map((b) => Buffer.from(b)) }),
    )
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({ type: fc.constant('update' as const), target, value: buf, removes: dots }),
      fc.record({ type: fc.constant('delete' as const), target, removes: dots }),
      fc.record({ type: fc.constant('insert' as const), vector: name, seq: fc.nat(), position: fc.bigInt({ min: 0n, max: (1n << 64n) - 2n }), value: buf }),
      fc.record({ type: fc.constant('counter' as const), counter: name, grow: u64, shrink: u64 }),
    )
    fc.assert(
      fc.property(bytes32, fc.uniqueArray(bytes32, { maxLength: 3, selector: (b) => b.toString('hex') }), u64, bytes32, bytes32, fc.array(action, { maxLength: 6 }), (contextId, parents, time, n, author, actions) => {
        const d: Delta = { contextId, parents, hlc: { time, node: n }, author, actions }
        const bytes = encodeDelta(d)
        expect(decodeDelta(bytes)).toEqual(d)
      }),
      { numRuns: 200 },
    )
  })
})
