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
}
