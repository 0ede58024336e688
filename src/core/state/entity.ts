import { Reader, Writer } from '../primitives/borsh.js'
import { MeroError } from '../primitives/errors.js'
import { sha256Of } from '../primitives/hash.js'
import { writeU64LE } from '../primitives/u64.js'
import type { HlcTimestamp } from '../primitives/hlc.js'
import { CollectionKind, MAX_COLLECTION_KIND } from './ids.js'
import { emptyLtHash, LTHASH_BYTES, type LtHash, ltBytes, ltFromBytes } from './lthash.js'

/**
 * One node of the state tree, as stored in the 'state' column. The tree: root → collections and
 * counters → entries (map/set/storage entries, vector elements).
 *
 * An entry is a multi-value register compacted per node: `live` holds at most one stamped value
 * per node (a node's later write always observed its earlier ones), `removed` the highest retired
 * stamp per node. Its state is a join-semilattice: join = per node, the higher live stamp and the
 * higher retired stamp; a live stamp at or below its node's retired stamp is gone. Reads take the
 * live value with the highest (time, node): last writer wins. An entry with no live value is a
 * tombstone, kept until `collectTombstones`.
 *
 * A counter holds per-node grow and shrink totals (join = max per node). Collections and the root
 * hold derived data only (live child count, LtHash digest of their live children).
 *
 * A text's runs (kind Run, under a Text collection) hold an immutable insertion (origin and
 * content) and a grow-only set of deleted code point ranges: join = the insertion, and the union
 * of the ranges. Runs are never removed (a text keeps its tombstones, which later insertions may
 * name as their origin); a run whose insertion has not arrived yet (only deletions of it have) is
 * not live.
 *
 * Hashes cover live state only, so tombstones, their collection, and metadata (created/updated)
 * never change a hash: replicas that collected tombstones at different times still agree.
 */
export const EntityKind = { Root: 0, Collection: 1, Counter: 2, Entry: 3, Run: 4 } as const
export type EntityKind = (typeof EntityKind)[keyof typeof EntityKind]

export interface LiveValue {
  node: Buffer
  time: bigint
  value: Buffer
}

export interface Retired {
  node: Buffer
  time: bigint
}

export interface Slot {
  node: Buffer
  grow: bigint
  shrink: bigint
}

/** A text run's insertion: where it goes and what it holds. */
export interface RunInsert {
  /** Empty: at the start of the text; else the origin character, run ref (44) ‖ offset (u32 BE). */
  origin: Buffer
  /** UTF-8, at least one character. */
  content: Buffer
}

export interface Entity {
  id: Buffer
  kind: EntityKind
  /** The collection kind for collections, counters (Counter) and entries. */
  ckind: CollectionKind
  parent: Buffer
  /** Collection or counter: the name (UTF-8); entry: the key, set element, or vector sort key. */
  key: Buffer
  created: HlcTimestamp
  updated: HlcTimestamp
  /** This entity's hash while it is live (contributes to its parent), else undefined. */
  hash: Buffer | undefined
  live: LiveValue[]
  removed: Retired[]
  slots: Slot[]
  liveCount: number
  digest: LtHash | undefined
  /** Vectors: the highest element position seen. */
  maxPosition: bigint
  /** Runs: the insertion, once known. */
  insert?: RunInsert
  /** Runs: deleted code point ranges, flattened [start0, end0, start1, end1, …], sorted, disjoint, not touching. */
  deleted?: number[]
}

/**
 * 2: collection and root digests sum BLAKE3 expansions (1 summed SHAKE128 ones). Version 1 records
 * are refused rather than mixed: a digest updated with both would match no peer's.
 */
const RECORD_VERSION = 2
const ZERO_NODE = Buffer.alloc(32)
export const ZERO_STAMP: HlcTimestamp = { time: 0n, node: ZERO_NODE }

/** A new entity; `digest` defaults to an empty one for the root and collections. */
export function newEntity(
  id: Buffer,
  kind: EntityKind,
  ckind: CollectionKind,
  parent: Buffer,
  key: Buffer,
  stamp: HlcTimestamp,
  digest = kind === EntityKind.Root || kind === EntityKind.Collection ? emptyLtHash() : undefined,
): Entity {
  return {
    id,
    kind,
    ckind,
    parent,
    key,
    created: stamp,
    updated: stamp,
    hash: undefined,
    live: [],
    removed: [],
    slots: [],
    liveCount: 0,
    digest,
    maxPosition: 0n,
    // one shape for every entity (a conditional spread here made every decode slower)
    insert: undefined,
    deleted: kind === EntityKind.Run ? [] : undefined,
  }
}

/** A copy that joins can change without changing `e`: joins replace per-node records, never edit them. */
export function cloneEntity(e: Entity): Entity {
  return { ...e, live: [...e.live], removed: [...e.removed], slots: [...e.slots], digest: e.digest?.slice(), deleted: e.deleted && [...e.deleted] }
}

export function touch(e: Entity, stamp: HlcTimestamp): void {
  if (cmpStamp(stamp, e.created) < 0 || e.created.time === 0n) e.created = stamp
  if (cmpStamp(stamp, e.updated) > 0) e.updated = stamp
}

function cmpStamp(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1
  return Buffer.compare(a.node, b.node)
}

function findNode<T extends { node: Buffer }>(list: T[], node: Uint8Array): number {
  for (let i = 0; i < list.length; i++) if (list[i]!.node.equals(node)) return i
  return -1
}

function insertSorted<T extends { node: Buffer }>(list: T[], item: T): void {
  let i = 0
  while (i < list.length && Buffer.compare(list[i]!.node, item.node) < 0) i++
  list.splice(i, 0, item)
}

export function retiredTime(e: Entity, node: Uint8Array): bigint | undefined {
  const i = findNode(e.removed, node)
  return i < 0 ? undefined : e.removed[i]!.time
}

/** Join a stamped value into an entry. */
export function joinLive(e: Entity, node: Buffer, time: bigint, value: Buffer): void {
  const gone = retiredTime(e, node)
  if (gone !== undefined && time <= gone) return
  const i = findNode(e.live, node)
  if (i < 0) return insertSorted(e.live, { node, time, value })
  const cur = e.live[i]!
  // Equal stamps carry equal values unless an author equivocated; the larger bytes win so that
  // replicas still agree.
  if (time > cur.time || (time === cur.time && Buffer.compare(value, cur.value) > 0)) e.live[i] = { node, time, value }
}

/** Join a retired stamp into an entry. */
export function joinRetired(e: Entity, node: Buffer, time: bigint): void {
  const i = findNode(e.removed, node)
  if (i < 0) insertSorted(e.removed, { node, time })
  else if (e.removed[i]!.time < time) e.removed[i] = { node, time }
  else return
  const j = findNode(e.live, node)
  if (j >= 0 && e.live[j]!.time <= time) e.live.splice(j, 1)
}

export function joinSlot(e: Entity, node: Buffer, grow: bigint, shrink: bigint): void {
  const i = findNode(e.slots, node)
  if (i < 0) return insertSorted(e.slots, { node, grow, shrink })
  const s = e.slots[i]!
  if (grow > s.grow || shrink > s.shrink) e.slots[i] = { node, grow: grow > s.grow ? grow : s.grow, shrink: shrink > s.shrink ? shrink : s.shrink }
}

/**
 * Joins a run's insertion. Two different insertions under one ref mean its author equivocated
 * (one stamp and seq, two contents): the larger bytes win, so that replicas still agree.
 */
export function joinInsert(e: Entity, insert: RunInsert): boolean {
  const cur = e.insert
  if (cur && compareInsert(cur, insert) >= 0) return false
  e.insert = insert
  return true
}

function compareInsert(a: RunInsert, b: RunInsert): number {
  return Buffer.compare(a.origin, b.origin) || Buffer.compare(a.content, b.content)
}

/** Joins deleted ranges (flattened pairs) into a run: the union, kept sorted and merged. Returns whether it changed. */
export function joinDeleted(e: Entity, ranges: readonly number[]): boolean {
  const before = e.deleted ?? []
  const merged = unionRanges(before, ranges)
  if (merged.length === before.length && merged.every((v, i) => v === before[i])) return false
  e.deleted = merged
  return true
}

/** The union of two sets of [start, end) ranges (flattened, each sorted): sorted, disjoint, touching ones merged. */
export function unionRanges(a: readonly number[], b: readonly number[]): number[] {
  const all: [number, number][] = []
  for (let i = 0; i < a.length; i += 2) all.push([a[i]!, a[i + 1]!])
  for (let i = 0; i < b.length; i += 2) all.push([b[i]!, b[i + 1]!])
  all.sort((x, y) => x[0] - y[0])
  const out: number[] = []
  for (const [s, t] of all) {
    if (out.length > 0 && s <= out[out.length - 1]!) {
      if (t > out[out.length - 1]!) out[out.length - 1] = t
    } else out.push(s, t)
  }
  return out
}

/** The value a read sees: the live value with the highest (time, node). */
export function winner(e: Entity): LiveValue | undefined {
  let best: LiveValue | undefined
  for (const v of e.live) if (!best || v.time > best.time || (v.time === best.time && Buffer.compare(v.node, best.node) > 0)) best = v
  return best
}

export function counterValue(e: Entity | undefined): bigint {
  if (!e) return 0n
  let v = 0n
  for (const s of e.slots) v += s.grow - s.shrink
  return v
}

const ENTRY_TAG = Buffer.from('mero.state.entry-hash\0')
const COUNTER_TAG = Buffer.from('mero.state.counter-hash\0')
const COLLECTION_TAG = Buffer.from('mero.state.collection-hash\0')
const RUN_TAG = Buffer.from('mero.state.run-hash\0')
const ROOT_TAG = Buffer.from('mero.state.root-hash\0')

/**
 * The entity's hash if it is live (undefined otherwise). The root always has a hash. Each input
 * is laid out in one buffer and hashed in one call: a hash's cost is mostly per call.
 */
export function computeHash(e: Entity): Buffer | undefined {
  switch (e.kind) {
    case EntityKind.Entry: {
      // A vector element whose insertion has not arrived yet has no position: not live.
      if (e.live.length === 0 || (e.ckind === CollectionKind.Vector && e.key.length === 0)) return undefined
      let n = ENTRY_TAG.length + 32 + 4 + e.key.length + 4
      for (const v of e.live) n += 32 + 8 + 4 + v.value.length
      const b = Buffer.allocUnsafe(n)
      let o = put(b, ENTRY_TAG, 0)
      o = put(b, e.id, o)
      o = b.writeUInt32LE(e.key.length, o)
      o = put(b, e.key, o)
      o = b.writeUInt32LE(e.live.length, o)
      for (const v of e.live) {
        o = put(b, v.node, o)
        o = writeU64LE(b, v.time, o)
        o = b.writeUInt32LE(v.value.length, o)
        o = put(b, v.value, o)
      }
      return sha256Of(b)
    }
    case EntityKind.Counter: {
      if (e.slots.length === 0) return undefined
      const b = Buffer.allocUnsafe(COUNTER_TAG.length + 32 + 4 + e.slots.length * 48)
      let o = put(b, COUNTER_TAG, 0)
      o = put(b, e.id, o)
      o = b.writeUInt32LE(e.slots.length, o)
      for (const s of e.slots) {
        o = put(b, s.node, o)
        o = writeU64LE(b, s.grow, o)
        o = writeU64LE(b, s.shrink, o)
      }
      return sha256Of(b)
    }
    case EntityKind.Run: {
      if (!e.insert) return undefined
      const deleted = e.deleted ?? []
      const { origin, content } = e.insert
      const b = Buffer.allocUnsafe(RUN_TAG.length + 32 + 4 + e.key.length + 4 + origin.length + 4 + content.length + 4 + deleted.length * 4)
      let o = put(b, RUN_TAG, 0)
      o = put(b, e.id, o)
      o = b.writeUInt32LE(e.key.length, o)
      o = put(b, e.key, o)
      o = b.writeUInt32LE(origin.length, o)
      o = put(b, origin, o)
      o = b.writeUInt32LE(content.length, o)
      o = put(b, content, o)
      o = b.writeUInt32LE(deleted.length, o)
      for (const v of deleted) o = b.writeUInt32LE(v, o)
      return sha256Of(b)
    }
    case EntityKind.Collection: {
      if (e.liveCount === 0) return undefined
      const b = Buffer.allocUnsafe(COLLECTION_TAG.length + 32 + 8 + LTHASH_BYTES)
      let o = put(b, COLLECTION_TAG, 0)
      o = put(b, e.id, o)
      o = writeU64LE(b, BigInt(e.liveCount), o)
      put(b, ltBytes(e.digest!), o)
      return sha256Of(b)
    }
    case EntityKind.Root: {
      const b = Buffer.allocUnsafe(ROOT_TAG.length + 8 + LTHASH_BYTES)
      let o = put(b, ROOT_TAG, 0)
      o = writeU64LE(b, BigInt(e.liveCount), o)
      put(b, ltBytes(e.digest!), o)
      return sha256Of(b)
    }
  }
}

/** Copies `src` into `b` at `o`; returns the offset after it. */
function put(b: Buffer, src: Uint8Array, o: number): number {
  b.set(src, o)
  return o + src.length
}

/** The root hash of an empty state. */
export const EMPTY_ROOT_HASH: Buffer = computeHash(newEntity(Buffer.alloc(32), EntityKind.Root, CollectionKind.Storage, Buffer.alloc(32), Buffer.alloc(0), ZERO_STAMP))!

const MAX_RECORD_FIELD = 64 * 1024 * 1024

export function encodeEntity(e: Entity): Buffer {
  const w = new Writer(recordCapacity(e))
  w.u8(RECORD_VERSION)
  w.fixed(e.id, 32)
  w.u8(e.kind)
  w.u8(e.ckind)
  w.fixed(e.parent, 32)
  w.bytes(e.key)
  w.u64(e.created.time).fixed(e.created.node, 32)
  w.u64(e.updated.time).fixed(e.updated.node, 32)
  w.option(e.hash, (h) => w.fixed(h, 32))
  switch (e.kind) {
    case EntityKind.Entry:
      w.vec(e.live, (v) => w.fixed(v.node, 32).u64(v.time).bytes(v.value))
      w.vec(e.removed, (v) => w.fixed(v.node, 32).u64(v.time))
      break
    case EntityKind.Counter:
      w.vec(e.slots, (s) => w.fixed(s.node, 32).u64(s.grow).u64(s.shrink))
      break
    case EntityKind.Run:
      w.option(e.insert, (i) => w.bytes(i.origin).bytes(i.content))
      w.vec(e.deleted ?? [], (v) => w.u32(v))
      break
    case EntityKind.Collection:
    case EntityKind.Root:
      w.u32(e.liveCount)
      w.fixed(ltBytes(e.digest!), LTHASH_BYTES)
      w.u64(e.maxPosition)
      break
  }
  return w.finish()
}

/** A bound on encodeEntity's size, so that its buffer never grows (and is copied) midway. */
function recordCapacity(e: Entity): number {
  let n = 256 + e.key.length + 48 * (e.live.length + e.removed.length + e.slots.length)
  for (const v of e.live) n += v.value.length
  if (e.insert) n += e.insert.origin.length + e.insert.content.length
  if (e.deleted) n += 4 * e.deleted.length
  return e.digest ? n + LTHASH_BYTES : n
}

/**
 * Decodes a stored (or snapshot) entity record; refuses anything malformed. The entity's byte
 * fields are copies, or with `views` views of `bytes` (half the cost), which must then never
 * change: a record freshly read from the store, say.
 */
export function decodeEntity(bytes: Uint8Array, what = 'state entity', views = false): Entity {
  const take = views ? (b: Buffer) => b : (b: Buffer) => Buffer.from(b)
  const r = new Reader(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), what)
  const version = r.u8()
  if (version !== RECORD_VERSION) throw new MeroError('InvalidInput', `${what}: unknown record version ${version}`)
  const id = take(r.fixed(32))
  const kind = r.u8()
  if (kind > EntityKind.Run) throw new MeroError('InvalidInput', `${what}: unknown entity kind ${kind}`)
  const ckind = r.u8()
  if (ckind > MAX_COLLECTION_KIND) throw new MeroError('InvalidInput', `${what}: unknown collection kind ${ckind}`)
  const parent = take(r.fixed(32))
  const key = take(r.bytes(MAX_RECORD_FIELD))
  const created = { time: r.u64(), node: take(r.fixed(32)) }
  const updated = { time: r.u64(), node: take(r.fixed(32)) }
  const hash = r.option(() => take(r.fixed(32)))
  const MAX_NODES = 1 << 20
  if (kind === EntityKind.Root || kind === EntityKind.Collection) {
    const liveCount = r.u32()
    const e = newEntity(id, kind, ckind as CollectionKind, parent, key, created, ltFromBytes(r.fixed(LTHASH_BYTES)))
    e.liveCount = liveCount
    e.maxPosition = r.u64()
    e.updated = updated
    e.hash = hash
    r.end()
    return e
  }
  const e = newEntity(id, kind as EntityKind, ckind as CollectionKind, parent, key, created)
  e.updated = updated
  e.hash = hash
  if (kind === EntityKind.Run) {
    const insert = r.option(() => ({ origin: take(r.bytes(48)), content: take(r.bytes(MAX_RECORD_FIELD)) }))
    if (insert) {
      if (insert.origin.length !== 0 && insert.origin.length !== 48) throw new MeroError('InvalidInput', `${what}: a run's origin is 0 or 48 bytes, got ${insert.origin.length}`)
      e.insert = insert
    }
    e.deleted = r.vec(() => r.u32(), MAX_NODES, 'deleted ranges')
    checkRanges(e.deleted, what)
  } else if (kind === EntityKind.Entry) {
    e.live = r.vec(() => ({ node: take(r.fixed(32)), time: r.u64(), value: take(r.bytes(MAX_RECORD_FIELD)) }), MAX_NODES, 'live values')
    e.removed = r.vec(() => ({ node: take(r.fixed(32)), time: r.u64() }), MAX_NODES, 'retired stamps')
    checkSorted(e.live, what)
    checkSorted(e.removed, what)
  } else {
    e.slots = r.vec(() => ({ node: take(r.fixed(32)), grow: r.u64(), shrink: r.u64() }), MAX_NODES, 'counter slots')
    checkSorted(e.slots, what)
  }
  r.end()
  return e
}

function checkRanges(flat: number[], what: string): void {
  if (flat.length % 2 !== 0) throw new MeroError('InvalidInput', `${what}: deleted ranges come in pairs`)
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i]! >= flat[i + 1]! || (i > 0 && flat[i]! <= flat[i - 1]!)) throw new MeroError('InvalidInput', `${what}: deleted ranges are not sorted, disjoint and non-empty`)
  }
}

function checkSorted(list: { node: Buffer }[], what: string): void {
  for (let i = 1; i < list.length; i++) {
    if (Buffer.compare(list[i - 1]!.node, list[i]!.node) >= 0) throw new MeroError('InvalidInput', `${what}: per-node values are not sorted by node`)
  }
}
