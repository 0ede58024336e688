/**
 * What the wasm host functions need from a context's state during one execution.
 * The runtime owns the ABI (pointers, registers, limits); the state layer (core/state) owns the
 * CRDT semantics and implements this interface with an overlay that commits only on success.
 * Everything here is synchronous: host functions cannot await.
 *
 * Collections are named by the app (a field name such as "items"); the state layer derives the
 * entity id from the name. Keys and values are opaque bytes (the SDK uses UTF-8 JSON).
 */
export interface HostState {
  /** Root-level last-writer-wins registers: storage_read / storage_write / storage_remove. */
  read(key: Uint8Array): Uint8Array | undefined
  /** Returns the previous value, if any. */
  write(key: Uint8Array, value: Uint8Array): Uint8Array | undefined
  remove(key: Uint8Array): Uint8Array | undefined

  /** Maps: entries are entities; add-wins against a concurrent delete. */
  mapGet(map: string, key: Uint8Array): Uint8Array | undefined
  mapInsert(map: string, key: Uint8Array, value: Uint8Array): Uint8Array | undefined
  mapRemove(map: string, key: Uint8Array): Uint8Array | undefined
  mapContains(map: string, key: Uint8Array): boolean
  mapLen(map: string): number
  /** Live entries, ordered by key bytes. */
  mapEntries(map: string): [Uint8Array, Uint8Array][]
  /** Removes every live entry; returns how many. */
  mapClear(map: string): number

  /** Sets: add-wins. */
  setAdd(set: string, value: Uint8Array): boolean
  setRemove(set: string, value: Uint8Array): boolean
  setContains(set: string, value: Uint8Array): boolean
  setLen(set: string): number
  setValues(set: string): Uint8Array[]

  /** Counters: per-device grow and shrink counts; value = Σ grow − Σ shrink. */
  counterAdd(counter: string, delta: bigint): bigint
  counterValue(counter: string): bigint

  /** Vectors: an ordered list of entries. */
  vectorPush(vector: string, value: Uint8Array): number
  vectorGet(vector: string, index: number): Uint8Array | undefined
  vectorSet(vector: string, index: number, value: Uint8Array): Uint8Array | undefined
  vectorPop(vector: string): Uint8Array | undefined
  vectorLen(vector: string): number

  /** The current root hash including this execution's uncommitted writes. */
  rootHash(): Uint8Array

  // The families below may be left out by a HostState (tests' in-memory ones do); calling one
  // then fails the call with a clear error.

  /** Pages of live entries in key order (maps and sorted maps; sets and sorted sets: keys only). */
  mapScan?(map: string, range: ScanRange): [Uint8Array, Uint8Array][]
  setScan?(set: string, range: ScanRange): Uint8Array[]

  /** Sorted maps and sets: merge as maps and sets; ranges, prefixes and pages by key bytes. */
  sortedMapGet?(map: string, key: Uint8Array): Uint8Array | undefined
  sortedMapInsert?(map: string, key: Uint8Array, value: Uint8Array): Uint8Array | undefined
  sortedMapRemove?(map: string, key: Uint8Array): Uint8Array | undefined
  sortedMapContains?(map: string, key: Uint8Array): boolean
  sortedMapLen?(map: string): number
  sortedMapScan?(map: string, range: ScanRange): [Uint8Array, Uint8Array][]
  sortedSetAdd?(set: string, value: Uint8Array): boolean
  sortedSetRemove?(set: string, value: Uint8Array): boolean
  sortedSetContains?(set: string, value: Uint8Array): boolean
  sortedSetLen?(set: string): number
  sortedSetScan?(set: string, range: ScanRange): Uint8Array[]

  /** Named last-writer-wins registers (highest HLC, then node id). */
  registerGet?(name: Uint8Array): Uint8Array | undefined
  registerSet?(name: Uint8Array, value: Uint8Array): Uint8Array | undefined
  registerClear?(name: Uint8Array): Uint8Array | undefined

  /** Grow-only counters. */
  gcounterAdd?(counter: string, by: bigint): bigint
  gcounterValue?(counter: string): bigint

  /** Texts (RGA): positions in Unicode code points. Insert returns the new length, delete how many went. */
  textInsert?(text: string, pos: number, value: string): number
  textDelete?(text: string, pos: number, count: number): number
  textLen?(text: string): number
  textRead?(text: string, start: number, end: number): string

  /** Node-local private storage: never in a delta, the root hash or sync. */
  privateRead?(key: Uint8Array): Uint8Array | undefined
  privateWrite?(key: Uint8Array, value: Uint8Array): Uint8Array | undefined
  privateRemove?(key: Uint8Array): Uint8Array | undefined
}

/**
 * What the blob host functions need from the node (left out: they fail the call). Sharing is a
 * node-local side effect, not state: it is not undone when the call fails.
 */
export interface HostBlobs {
  /** Shares blob `id` with the members of context `contextId`; its size, or undefined when this node does not hold it. */
  announce(id: Uint8Array, contextId: Uint8Array): number | undefined
}

/** A page of a collection in key order: keys in [lo, hi), `offset` skipped, at most `limit`. */
export interface ScanRange {
  lo?: Uint8Array
  hi?: Uint8Array
  offset: number
  limit: number
  reverse: boolean
}
