import { sha256Of } from '../primitives/hash.js'

/**
 * Entity ids are deterministic, so every replica names the same entity the same way:
 * - the root is 32 zero bytes (keys are prefixed by the context id anyway);
 * - a collection (or counter) is H(kind ‖ name): a map "x" and a set "x" are different entities;
 * - a map, set or storage entry is H(collection ‖ key bytes);
 * - a vector element is H(vector ‖ element ref), where the ref is the (HLC time, node, seq) of the
 *   insertion that created it: deterministic per insertion and unique across replicas.
 */
export const ROOT_ID: Buffer = Buffer.alloc(32)

/**
 * What an app names; the numbers are part of ids and of the wire format. Sorted maps and sets
 * merge as maps and sets do (their entries are ordered by key bytes either way); they are kinds of
 * their own so that an app's `SortedMap("x")` and `UnorderedMap("x")` never share entries.
 * Counter is the PN counter (grow and shrink per node), GCounter the grow-only one.
 */
export const CollectionKind = { Storage: 0, Map: 1, Set: 2, Vector: 3, Counter: 4, SortedMap: 5, SortedSet: 6, Register: 7, GCounter: 8, Text: 9 } as const
export type CollectionKind = (typeof CollectionKind)[keyof typeof CollectionKind]

export const COLLECTION_KIND_NAMES: Record<CollectionKind, string> = ['storage', 'map', 'set', 'vector', 'counter', 'sorted-map', 'sorted-set', 'register', 'g-counter', 'text'] as Record<CollectionKind, string>

export const MAX_COLLECTION_KIND: CollectionKind = CollectionKind.Text

/** Counter kinds: entities holding per-node grow (and shrink) totals, no entries. */
export function isCounterKind(kind: number): kind is typeof CollectionKind.Counter | typeof CollectionKind.GCounter {
  return kind === CollectionKind.Counter || kind === CollectionKind.GCounter
}

/** Kinds whose entries hold no value (the key is the element). */
export function isSetKind(kind: number): boolean {
  return kind === CollectionKind.Set || kind === CollectionKind.SortedSet
}

/**
 * The storage_read/write/remove registers live in one implicit collection with an empty name; so
 * do the named LWW registers (kind Register, the register's name as the key).
 */
export const STORAGE_NAME = ''

export const ELEMENT_REF_BYTES = 44

const COLLECTION_TAG = Buffer.from('mero.state.collection\0')
const ENTRY_TAG = Buffer.from('mero.state.entry\0')
const ELEMENT_TAG = Buffer.from('mero.state.element\0')

const collectionIds = new Map<string, Buffer>()

export function collectionId(kind: CollectionKind, name: string): Buffer {
  const memo = `${kind}:${name}`
  let id = collectionIds.get(memo)
  if (id === undefined) {
    id = taggedHash(COLLECTION_TAG, Uint8Array.of(kind), Buffer.from(name, 'utf8'))
    if (collectionIds.size > 10_000) collectionIds.clear()
    collectionIds.set(memo, id)
  }
  return id
}

export function entryId(collection: Uint8Array, key: Uint8Array): Buffer {
  return taggedHash(ENTRY_TAG, collection, key)
}

export function elementId(vector: Uint8Array, ref: Uint8Array): Buffer {
  return taggedHash(ELEMENT_TAG, vector, ref)
}

/** SHA-256 of tag ‖ a ‖ b, laid out in one buffer and hashed in one call (cheaper than streaming). */
function taggedHash(tag: Buffer, a: Uint8Array, b: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(tag.length + a.length + b.length)
  input.set(tag, 0)
  input.set(a, tag.length)
  input.set(b, tag.length + a.length)
  return sha256Of(input)
}

/** An element ref: time (u64 BE) ‖ node (32) ‖ seq (u32 BE). Big-endian so refs sort by time. */
export function elementRef(time: bigint, node: Uint8Array, seq: number): Buffer {
  const out = Buffer.allocUnsafe(ELEMENT_REF_BYTES)
  out.writeBigUInt64BE(time, 0)
  out.set(node, 8)
  out.writeUInt32BE(seq, 40)
  return out
}

/** A vector element's sort key: position (u64 BE) ‖ ref. Concurrent pushes at one position order by ref. */
export function elementSortKey(position: bigint, ref: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8 + ELEMENT_REF_BYTES)
  out.writeBigUInt64BE(position, 0)
  out.set(ref, 8)
  return out
}

export function positionOfSortKey(sortKey: Uint8Array): bigint {
  return Buffer.from(sortKey.buffer, sortKey.byteOffset, 8).readBigUInt64BE(0)
}

export function refOfSortKey(sortKey: Uint8Array): Buffer {
  return Buffer.from(sortKey.buffer, sortKey.byteOffset + 8, ELEMENT_REF_BYTES)
}
