import { Reader, Writer } from '../primitives/borsh.js'
import { MeroError } from '../primitives/errors.js'
import { sha256Of } from '../primitives/hash.js'
import type { HlcTimestamp } from '../primitives/hlc.js'
import { CollectionKind, ELEMENT_REF_BYTES, isSetKind, STORAGE_NAME } from './ids.js'

/**
 * What a delta carries. Every action is a join with a fixed piece of state (see entity.ts), so
 * applying the same actions in any order, any number of times, gives the same state.
 *
 * The stamp of every action is the delta's HLC (time, node): one execution = one delta = one
 * stamp, and the state layer emits at most one action per entity per delta.
 *
 * - `update` (tag 0, "add" when `removes` is empty): the entry now holds `value` under this
 *   delta's stamp, and the stamps it observed (`removes`) are retired. Sets use an empty value.
 * - `delete` (tag 1): retires the observed stamps. A concurrent update's stamp was not observed,
 *   so it survives: add wins.
 * - `insert` (tag 2): a new vector element at `position`, identified by (delta stamp, seq).
 * - `counter` (tag 3): this node's grow and shrink totals for a counter (merge = max per node).
 * - `gcounter` (tag 4): this node's total for a grow-only counter (merge = max per node).
 * - `textInsert` (tag 5): a run of characters inserted after the character `origin` (or at the
 *   start) of a text; the run is named by (delta stamp, seq), its characters by their code point
 *   offset in it. See text.ts for the order (RGA).
 * - `textDelete` (tag 6): characters of a run (code point ranges) are deleted: a grow-only set.
 */
export type Target = {
  kind:
    | typeof CollectionKind.Storage
    | typeof CollectionKind.Map
    | typeof CollectionKind.Set
    | typeof CollectionKind.Vector
    | typeof CollectionKind.SortedMap
    | typeof CollectionKind.SortedSet
    | typeof CollectionKind.Register
  /** The app's collection name; empty for storage and registers. */
  collection: string
  /** Entry key, set element, or (vectors) the element ref. */
  key: Buffer
}

/** An observed stamp: node ‖ time. */
export interface Dot {
  node: Buffer
  time: bigint
}

/** A character of a text: its run's ref (time ‖ node ‖ seq, 44 bytes) and its code point offset there. */
export interface CharRef {
  run: Buffer
  offset: number
}

export type Action =
  | { type: 'update'; target: Target; value: Buffer; removes: Dot[] }
  | { type: 'delete'; target: Target; removes: Dot[] }
  | { type: 'insert'; vector: string; seq: number; position: bigint; value: Buffer }
  | { type: 'counter'; counter: string; grow: bigint; shrink: bigint }
  | { type: 'gcounter'; counter: string; grow: bigint }
  | { type: 'textInsert'; text: string; seq: number; origin: CharRef | undefined; content: string }
  /** `ranges`: [start, end) code point offsets, sorted, neither overlapping nor touching. */
  | { type: 'textDelete'; text: string; run: Buffer; ranges: [number, number][] }

export interface Delta {
  contextId: Buffer
  parents: Buffer[]
  hlc: HlcTimestamp
  author: Buffer
  actions: Action[]
}

export interface DeltaLimits {
  maxDeltaBytes: number
  maxActions: number
  maxParents: number
  maxKeyBytes: number
  maxValueBytes: number
  maxNameBytes: number
  maxRemoves: number
}

const MiB = 1024 * 1024

export const DEFAULT_DELTA_LIMITS: Readonly<DeltaLimits> = Object.freeze({
  maxDeltaBytes: 128 * MiB,
  maxActions: 100_000,
  maxParents: 256,
  maxKeyBytes: 1 * MiB,
  maxValueBytes: 10 * MiB,
  maxNameBytes: 256,
  maxRemoves: 4096,
})

const TAG = { update: 0, delete: 1, insert: 2, counter: 3, gcounter: 4, textInsert: 5, textDelete: 6 } as const
const ENTRY_TARGET_KINDS: ReadonlySet<number> = new Set([
  CollectionKind.Storage,
  CollectionKind.Map,
  CollectionKind.Set,
  CollectionKind.Vector,
  CollectionKind.SortedMap,
  CollectionKind.SortedSet,
  CollectionKind.Register,
])
const U64_MAX = (1n << 64n) - 1n

export function encodeActions(actions: readonly Action[]): Buffer {
  const w = new Writer()
  writeActions(w, actions)
  return w.finish()
}

export function encodeDelta(delta: Delta): Buffer {
  const w = new Writer()
  w.fixed(delta.contextId, 32)
  w.vec(delta.parents, (p) => w.fixed(p, 32))
  w.u64(delta.hlc.time)
  w.fixed(delta.hlc.node, 32)
  w.fixed(delta.author, 32)
  writeActions(w, delta.actions)
  return w.finish()
}

/** The delta id: SHA-256 of its canonical bytes. */
export function deltaId(encoded: Uint8Array): Buffer {
  return sha256Of(encoded)
}

export function decodeDelta(bytes: Uint8Array, limits: DeltaLimits = DEFAULT_DELTA_LIMITS): Delta {
  if (bytes.length > limits.maxDeltaBytes) {
    throw new MeroError('InvalidInput', `delta is ${bytes.length} bytes, more than the ${limits.maxDeltaBytes} allowed`)
  }
  const r = new Reader(asBuffer(bytes), 'delta')
  const contextId = r.fixed(32)
  const parents = r.vec(() => r.fixed(32), limits.maxParents, 'parents')
  for (let i = 1; i < parents.length; i++) {
    for (let j = 0; j < i; j++) if (parents[i]!.equals(parents[j]!)) throw new MeroError('InvalidInput', 'delta: a parent is listed twice')
  }
  const time = r.u64()
  const node = r.fixed(32)
  const author = r.fixed(32)
  const actions = readActions(r, limits)
  r.end()
  return { contextId, parents, hlc: { time, node }, author, actions }
}

/** Decodes a bare action list (as encodeActions writes it). */
export function decodeActions(bytes: Uint8Array, limits: DeltaLimits = DEFAULT_DELTA_LIMITS): Action[] {
  if (bytes.length > limits.maxDeltaBytes) {
    throw new MeroError('InvalidInput', `actions are ${bytes.length} bytes, more than the ${limits.maxDeltaBytes} allowed`)
  }
  const r = new Reader(asBuffer(bytes), 'actions')
  const actions = readActions(r, limits)
  r.end()
  return actions
}

function writeActions(w: Writer, actions: readonly Action[]): void {
  w.vec(actions, (a) => {
    switch (a.type) {
      case 'update':
        w.u8(TAG.update)
        writeTarget(w, a.target)
        w.bytes(a.value)
        writeDots(w, a.removes)
        break
      case 'delete':
        w.u8(TAG.delete)
        writeTarget(w, a.target)
        writeDots(w, a.removes)
        break
      case 'insert':
        w.u8(TAG.insert)
        w.string(a.vector)
        w.u32(a.seq)
        w.u64(a.position)
        w.bytes(a.value)
        break
      case 'counter':
        w.u8(TAG.counter)
        w.string(a.counter)
        w.u64(a.grow)
        w.u64(a.shrink)
        break
      case 'gcounter':
        w.u8(TAG.gcounter)
        w.string(a.counter)
        w.u64(a.grow)
        break
      case 'textInsert':
        w.u8(TAG.textInsert)
        w.string(a.text)
        w.u32(a.seq)
        w.option(a.origin, (o) => w.fixed(o.run, ELEMENT_REF_BYTES).u32(o.offset))
        w.string(a.content)
        break
      case 'textDelete':
        w.u8(TAG.textDelete)
        w.string(a.text)
        w.fixed(a.run, ELEMENT_REF_BYTES)
        w.vec(a.ranges, ([start, end]) => w.u32(start).u32(end))
        break
    }
  })
}

function writeTarget(w: Writer, t: Target): void {
  w.u8(t.kind)
  w.string(t.collection)
  w.bytes(t.key)
}

function writeDots(w: Writer, dots: readonly Dot[]): void {
  w.vec(dots, (d) => {
    w.fixed(d.node, 32)
    w.u64(d.time)
  })
}

function readActions(r: Reader, limits: DeltaLimits): Action[] {
  return r.vec(
    () => {
      const tag = r.u8()
      switch (tag) {
        case TAG.update: {
          const target = readTarget(r, limits)
          const value = r.bytes(limits.maxValueBytes)
          if (isSetKind(target.kind) && value.length !== 0) throw new MeroError('InvalidInput', 'delta: a set update carries a value')
          return { type: 'update', target, value, removes: readDots(r, limits) }
        }
        case TAG.delete:
          return { type: 'delete', target: readTarget(r, limits), removes: readDots(r, limits) }
        case TAG.insert: {
          const vector = readName(r, limits)
          const seq = r.u32()
          const position = r.u64()
          if (position === U64_MAX) throw new MeroError('InvalidInput', 'delta: a vector position is out of range')
          return { type: 'insert', vector, seq, position, value: r.bytes(limits.maxValueBytes) }
        }
        case TAG.counter:
          return { type: 'counter', counter: readName(r, limits), grow: r.u64(), shrink: r.u64() }
        case TAG.gcounter:
          return { type: 'gcounter', counter: readName(r, limits), grow: r.u64() }
        case TAG.textInsert: {
          const text = readName(r, limits)
          const seq = r.u32()
          const origin = r.option(() => ({ run: r.fixed(ELEMENT_REF_BYTES), offset: r.u32() }))
          const content = r.string(limits.maxValueBytes)
          if (content.length === 0) throw new MeroError('InvalidInput', 'delta: a text insert carries no characters')
          return { type: 'textInsert', text, seq, origin, content }
        }
        case TAG.textDelete: {
          const text = readName(r, limits)
          const run = r.fixed(ELEMENT_REF_BYTES)
          const ranges = r.vec(() => [r.u32(), r.u32()] as [number, number], limits.maxRemoves, 'deleted ranges')
          if (ranges.length === 0) throw new MeroError('InvalidInput', 'delta: a text delete names no characters')
          for (let i = 0; i < ranges.length; i++) {
            const [start, end] = ranges[i]!
            if (start >= end || (i > 0 && start <= ranges[i - 1]![1])) throw new MeroError('InvalidInput', 'delta: deleted ranges are not sorted, disjoint and non-empty')
          }
          return { type: 'textDelete', text, run, ranges }
        }
        default:
          throw new MeroError('InvalidInput', `delta: unknown action tag ${tag}`)
      }
    },
    limits.maxActions,
    'actions',
  )
}

function readTarget(r: Reader, limits: DeltaLimits): Target {
  const kind = r.u8()
  if (!ENTRY_TARGET_KINDS.has(kind)) throw new MeroError('InvalidInput', `delta: unknown collection kind ${kind}`)
  const collection = kind === CollectionKind.Storage || kind === CollectionKind.Register ? r.string(0) : readName(r, limits)
  const key = r.bytes(limits.maxKeyBytes)
  if (kind === CollectionKind.Vector && key.length !== ELEMENT_REF_BYTES) {
    throw new MeroError('InvalidInput', `delta: a vector element ref is ${ELEMENT_REF_BYTES} bytes, got ${key.length}`)
  }
  return { kind: kind as Target['kind'], collection, key }
}

function readName(r: Reader, limits: DeltaLimits): string {
  const name = r.string(limits.maxNameBytes)
  if (name.length === 0) throw new MeroError('InvalidInput', 'delta: a collection name is empty')
  return name
}

/** Observed stamps must be sorted by node, one per node: the canonical form. */
function readDots(r: Reader, limits: DeltaLimits): Dot[] {
  const dots = r.vec(() => ({ node: r.fixed(32), time: r.u64() }), limits.maxRemoves, 'observed stamps')
  for (let i = 1; i < dots.length; i++) {
    if (Buffer.compare(dots[i - 1]!.node, dots[i]!.node) >= 0) throw new MeroError('InvalidInput', 'delta: observed stamps are not sorted by node')
  }
  return dots
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

export { STORAGE_NAME }
