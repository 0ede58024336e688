// CRDT collections held by the host (DESIGN §8), addressed by name. Keys and values are UTF-8
// strings here; the host treats them as bytes.
import * as env from "./env"
import { buf, bufRaw, utf8, fromUtf8, readRegister, decodeList, panic, DATA_REGISTER } from "./host"
import { Bytes } from "./bytes"
import { fromBase58 } from "./base58"

function registerString(found: u32): string | null {
  if (found == 0) return null
  const r = readRegister(DATA_REGISTER)
  return r === null ? null : fromUtf8(r)
}

export class Entry {
  constructor(public key: string, public value: string) {}
}

/** A map entity: entries are entities of their own (add-wins against a concurrent delete). */
export class UnorderedMap {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  get(key: string): string | null {
    return registerString(env.map_get(buf(0, this.nameBytes), buf(1, utf8(key)), DATA_REGISTER))
  }
  /** Inserts or replaces; returns the previous value. */
  set(key: string, value: string): string | null {
    return registerString(env.map_insert(buf(0, this.nameBytes), buf(1, utf8(key)), buf(2, utf8(value)), DATA_REGISTER))
  }
  /** Removes; returns the removed value. */
  remove(key: string): string | null {
    return registerString(env.map_remove(buf(0, this.nameBytes), buf(1, utf8(key)), DATA_REGISTER))
  }
  contains(key: string): bool {
    return env.map_contains(buf(0, this.nameBytes), buf(1, utf8(key))) == 1
  }
  len(): i64 {
    return <i64>env.map_len(buf(0, this.nameBytes))
  }
  /** Live entries, ordered by key bytes. */
  entries(): Entry[] {
    env.map_entries(buf(0, this.nameBytes), DATA_REGISTER)
    const items = decodeList(readRegister(DATA_REGISTER)!, 2)
    const out = new Array<Entry>()
    for (let i = 0; i + 1 < items.length; i += 2) out.push(new Entry(fromUtf8(items[i]), fromUtf8(items[i + 1])))
    return out
  }
  /** Removes every entry; returns how many there were. */
  clear(): i64 {
    return <i64>env.map_clear(buf(0, this.nameBytes))
  }
  /** A page of entries in key order. */
  page(offset: u64, limit: u64): Entry[] {
    return entriesOf(new ScanCursor(ScanKind.Map, this.name, null, null, offset, limit))
  }
  /** A cursor over the entries in key order (for listings of any size: one page in memory at a time). */
  cursor(offset: u64 = 0, limit: u64 = u64.MAX_VALUE): ScanCursor {
    return new ScanCursor(ScanKind.Map, this.name, null, null, offset, limit)
  }
}

/** A set entity (add-wins). */
export class UnorderedSet {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  /** True when the value was not there before. */
  add(value: string): bool { return env.set_add(buf(0, this.nameBytes), buf(1, utf8(value))) == 1 }
  remove(value: string): bool { return env.set_remove(buf(0, this.nameBytes), buf(1, utf8(value))) == 1 }
  contains(value: string): bool { return env.set_contains(buf(0, this.nameBytes), buf(1, utf8(value))) == 1 }
  len(): i64 { return <i64>env.set_len(buf(0, this.nameBytes)) }
  values(): string[] {
    env.set_values(buf(0, this.nameBytes), DATA_REGISTER)
    const items = decodeList(readRegister(DATA_REGISTER)!)
    const out = new Array<string>()
    for (let i = 0; i < items.length; i++) out.push(fromUtf8(items[i]))
    return out
  }
}

/** A counter: per-device grow and shrink counts merged by the host. */
export class Counter {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  /** Adds `by` (negative to decrement); returns the new value. */
  add(by: i64): i64 { return env.counter_add(buf(0, this.nameBytes), by) }
  increment(): i64 { return this.add(1) }
  decrement(): i64 { return this.add(-1) }
  value(): i64 { return env.counter_value(buf(0, this.nameBytes)) }
}

/** An ordered list of string entries. */
export class Vector {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  push(value: string): i64 { return <i64>env.vector_push(buf(0, this.nameBytes), buf(1, utf8(value))) }
  get(index: i64): string | null { return registerString(env.vector_get(buf(0, this.nameBytes), <u64>index, DATA_REGISTER)) }
  /** Replaces the entry at `index` (which must exist); returns the old value. */
  set(index: i64, value: string): string | null {
    return registerString(env.vector_set(buf(0, this.nameBytes), <u64>index, buf(1, utf8(value)), DATA_REGISTER))
  }
  pop(): string | null { return registerString(env.vector_pop(buf(0, this.nameBytes), DATA_REGISTER)) }
  len(): i64 { return <i64>env.vector_len(buf(0, this.nameBytes)) }
}

/** Root-level last-writer-wins registers (storage_read / storage_write / storage_remove). */
export class Storage {
  static read(key: string): string | null { return registerString(env.storage_read(buf(0, utf8(key)), DATA_REGISTER)) }
  static write(key: string, value: string): string | null {
    return registerString(env.storage_write(buf(0, utf8(key)), buf(1, utf8(value)), DATA_REGISTER))
  }
  static remove(key: string): string | null { return registerString(env.storage_remove(buf(0, utf8(key)), DATA_REGISTER)) }
}

// ---- pages in key order --------------------------------------------------------------------

/** Which collection a cursor reads. */
export const enum ScanKind { Map, SortedMap, Set, SortedSet }

const SCAN_REVERSE: u64 = 1
/** Entries read per host call while iterating (each page is one register, read into a reused buffer). */
const PAGE_SIZE: u64 = 1000

/**
 * Iterates a map's or set's live entries in key order without holding them all: pages of
 * PAGE_SIZE are read into one reused buffer, so memory stays at a page whatever the collection's
 * size. Keys (and map values) are UTF-8 bytes in that buffer until the next `next()`:
 * `keyPtr/keyLen`, `valuePtr/valueLen`, or as strings with `key()` / `value()`.
 *
 *   const c = new ScanCursor(ScanKind.Map, "items")
 *   while (c.next()) w.keyUtf8(c.keyPtr, c.keyLen) ...
 */
export class ScanCursor {
  keyPtr: usize = 0
  keyLen: usize = 0
  valuePtr: usize = 0
  valueLen: usize = 0
  private nameBytes: ArrayBuffer
  private page: Bytes = new Bytes(4096)
  private bound: Bytes = new Bytes(64)
  private lo: Bytes = new Bytes(16)
  private hi: Bytes = new Bytes(16)
  private hasLo: bool
  private hasHi: bool
  private count: u32 = 0
  private index: u32 = 0
  private pos: usize = 0
  private offset: u64
  private left: u64
  private started: bool = false
  private exhausted: bool = false

  /** Keys (bytes) in [lo, hi) (null: unbounded), `offset` skipped, at most `limit`, from the end when `reverse`. */
  constructor(private kind: ScanKind, name: string, lo: ArrayBuffer | null = null, hi: ArrayBuffer | null = null, offset: u64 = 0, limit: u64 = u64.MAX_VALUE, private reverse: bool = false) {
    this.nameBytes = utf8(name)
    this.hasLo = lo !== null
    this.hasHi = hi !== null
    if (lo !== null) this.lo.append(changetype<usize>(lo), <usize>lo.byteLength)
    if (hi !== null) this.hi.append(changetype<usize>(hi), <usize>hi.byteLength)
    this.offset = offset
    this.left = limit
  }

  private get isMap(): bool { return this.kind == ScanKind.Map || this.kind == ScanKind.SortedMap }

  /** Moves to the next entry; false at the end. */
  next(): bool {
    if (this.left == 0) return false
    // a loop, not an `if`: a function with a loop is never inlined, so a caller's per-entry loop
    // is not charged (metering) for the page-loading code it runs once a page
    while (this.index >= this.count) {
      if (!this.load()) return false
    }
    let p = this.page.ptr + this.pos
    this.keyLen = <usize>load<u32>(p)
    this.keyPtr = p + 4
    p += 4 + this.keyLen
    if (this.isMap) {
      this.valueLen = <usize>load<u32>(p)
      this.valuePtr = p + 4
      p += 4 + this.valueLen
    }
    this.pos = p - this.page.ptr
    this.index++
    this.left--
    return true
  }

  key(): string { return String.UTF8.decodeUnsafe(this.keyPtr, this.keyLen) }
  value(): string { return String.UTF8.decodeUnsafe(this.valuePtr, this.valueLen) }

  /** Reads the next page into the buffer; false when there is none. */
  private load(): bool {
    if (this.exhausted) return false
    // after the first page, continue past the last key read: key ‖ 0x00 is the next key up; going down, the last key bounds the range
    if (this.started) {
      this.bound.clear()
      this.bound.append(this.keyPtr, this.keyLen)
      if (this.reverse) {
        this.hi.clear()
        this.hi.append(this.bound.ptr, this.bound.len)
        this.hasHi = true
      } else {
        this.bound.byte(0)
        this.lo.clear()
        this.lo.append(this.bound.ptr, this.bound.len)
        this.hasLo = true
      }
    }
    const want = this.left < PAGE_SIZE ? this.left : PAGE_SIZE
    const name = buf(0, this.nameBytes)
    const lo = bufRaw(1, this.lo.ptr, this.hasLo ? this.lo.len : 0)
    const hi = bufRaw(2, this.hi.ptr, this.hasHi ? this.hi.len : 0)
    const offset = this.started ? 0 : this.offset
    const flags = this.reverse ? SCAN_REVERSE : 0
    let n: u64 = 0
    if (this.kind == ScanKind.Map) n = env.map_scan(name, lo, hi, offset, want, flags, DATA_REGISTER)
    else if (this.kind == ScanKind.SortedMap) n = env.sorted_map_scan(name, lo, hi, offset, want, flags, DATA_REGISTER)
    else if (this.kind == ScanKind.Set) n = env.set_scan(name, lo, hi, offset, want, flags, DATA_REGISTER)
    else n = env.sorted_set_scan(name, lo, hi, offset, want, flags, DATA_REGISTER)
    this.started = true
    if (n < want) this.exhausted = true
    if (n == 0) return false
    readRegisterInto(DATA_REGISTER, this.page)
    this.count = <u32>n
    this.index = 0
    this.pos = 4
    return true
  }
}

/** Reads a register into a reused buffer (no allocation once it is large enough). */
export function readRegisterInto(reg: u64, into: Bytes): void {
  const len = <usize>env.register_len(reg)
  into.clear()
  into.reserve(len)
  if (env.read_register(reg, bufRaw(5, into.ptr, len)) != 1) panic("read_register: length mismatch")
  into.len = len
}

function entriesOf(c: ScanCursor): Entry[] {
  const out = new Array<Entry>()
  while (c.next()) out.push(new Entry(c.key(), c.value()))
  return out
}

function keysOf(c: ScanCursor): string[] {
  const out = new Array<string>()
  while (c.next()) out.push(c.key())
  return out
}

/**
 * The exclusive upper bound of the keys starting with `prefix` (null: none, the prefix is all 0xff
 * bytes). Bytes, not a string: a UTF-8 prefix's successor need not be UTF-8.
 */
export function prefixEnd(prefix: ArrayBuffer): ArrayBuffer | null {
  const b = Uint8Array.wrap(prefix)
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const out = b.slice(0, i + 1)
      out[i] = b[i] + 1
      return out.buffer
    }
  }
  return null
}

function bound(s: string | null): ArrayBuffer | null {
  return s === null ? null : utf8(s!)
}

// ---- sorted maps and sets ------------------------------------------------------------------

/**
 * A map kept in key order (UTF-8 byte order, which is code point order): ranges, prefixes and
 * pages. Entries merge as UnorderedMap's (add-wins). For numbers as keys, see `orderedKey`.
 */
export class SortedMap {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  get(key: string): string | null { return registerString(env.sorted_map_get(buf(0, this.nameBytes), buf(1, utf8(key)), DATA_REGISTER)) }
  set(key: string, value: string): string | null {
    return registerString(env.sorted_map_insert(buf(0, this.nameBytes), buf(1, utf8(key)), buf(2, utf8(value)), DATA_REGISTER))
  }
  remove(key: string): string | null { return registerString(env.sorted_map_remove(buf(0, this.nameBytes), buf(1, utf8(key)), DATA_REGISTER)) }
  contains(key: string): bool { return env.sorted_map_contains(buf(0, this.nameBytes), buf(1, utf8(key))) == 1 }
  len(): i64 { return <i64>env.sorted_map_len(buf(0, this.nameBytes)) }

  /** Entries with keys in [lo, hi) (null: unbounded), `offset` skipped, at most `limit`. */
  range(lo: string | null, hi: string | null, offset: u64 = 0, limit: u64 = u64.MAX_VALUE, reverse: bool = false): Entry[] {
    return entriesOf(new ScanCursor(ScanKind.SortedMap, this.name, bound(lo), bound(hi), offset, limit, reverse))
  }
  /** Entries whose key starts with `prefix`. */
  prefix(prefix: string, offset: u64 = 0, limit: u64 = u64.MAX_VALUE, reverse: bool = false): Entry[] {
    const p = utf8(prefix)
    return entriesOf(new ScanCursor(ScanKind.SortedMap, this.name, p, prefixEnd(p), offset, limit, reverse))
  }
  /** A page of all entries. */
  page(offset: u64, limit: u64, reverse: bool = false): Entry[] { return this.range(null, null, offset, limit, reverse) }
  first(): Entry | null { const p = this.page(0, 1); return p.length ? p[0] : null }
  last(): Entry | null { const p = this.page(0, 1, true); return p.length ? p[0] : null }
  /** A cursor over a range (no array: for large listings). */
  cursor(lo: string | null = null, hi: string | null = null, offset: u64 = 0, limit: u64 = u64.MAX_VALUE, reverse: bool = false): ScanCursor {
    return new ScanCursor(ScanKind.SortedMap, this.name, bound(lo), bound(hi), offset, limit, reverse)
  }
  /** A cursor over the keys starting with `prefix`. */
  prefixCursor(prefix: string, offset: u64 = 0, limit: u64 = u64.MAX_VALUE, reverse: bool = false): ScanCursor {
    const p = utf8(prefix)
    return new ScanCursor(ScanKind.SortedMap, this.name, p, prefixEnd(p), offset, limit, reverse)
  }
}

/** A set kept in order (UTF-8 byte order): ranges, prefixes and pages. Add-wins. */
export class SortedSet {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  add(value: string): bool { return env.sorted_set_add(buf(0, this.nameBytes), buf(1, utf8(value))) == 1 }
  remove(value: string): bool { return env.sorted_set_remove(buf(0, this.nameBytes), buf(1, utf8(value))) == 1 }
  contains(value: string): bool { return env.sorted_set_contains(buf(0, this.nameBytes), buf(1, utf8(value))) == 1 }
  len(): i64 { return <i64>env.sorted_set_len(buf(0, this.nameBytes)) }
  range(lo: string | null, hi: string | null, offset: u64 = 0, limit: u64 = u64.MAX_VALUE, reverse: bool = false): string[] {
    return keysOf(new ScanCursor(ScanKind.SortedSet, this.name, bound(lo), bound(hi), offset, limit, reverse))
  }
  prefix(prefix: string, offset: u64 = 0, limit: u64 = u64.MAX_VALUE, reverse: bool = false): string[] {
    const p = utf8(prefix)
    return keysOf(new ScanCursor(ScanKind.SortedSet, this.name, p, prefixEnd(p), offset, limit, reverse))
  }
  page(offset: u64, limit: u64, reverse: bool = false): string[] { return this.range(null, null, offset, limit, reverse) }
  first(): string | null { const p = this.page(0, 1); return p.length ? p[0] : null }
  last(): string | null { const p = this.page(0, 1, true); return p.length ? p[0] : null }
}

/**
 * A key that sorts as the number does (20 zero-padded digits): `orderedKey(42) < orderedKey(100)`.
 * `descending` sorts larger numbers first (a leaderboard's page 0 is the top).
 */
export function orderedKey(n: u64, descending: bool = false): string {
  const v = descending ? u64.MAX_VALUE - n : n
  let s = v.toString()
  while (s.length < 20) s = "0" + s
  return s
}

// ---- registers, grow-only counters, texts, private storage ---------------------------------

/** A named last-writer-wins register: concurrent writes resolve to the highest HLC, then node id. */
export class LwwRegister {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  get(): string | null { return registerString(env.register_get(buf(0, this.nameBytes), DATA_REGISTER)) }
  /** Returns the previous value. */
  set(value: string): string | null { return registerString(env.register_set(buf(0, this.nameBytes), buf(1, utf8(value)), DATA_REGISTER)) }
  clear(): string | null { return registerString(env.register_clear(buf(0, this.nameBytes), DATA_REGISTER)) }
}

/** A grow-only counter: per-node totals merged by maximum; it can only go up. */
export class GCounter {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  /** Adds `by`; returns the new value. */
  increment(by: u64 = 1): u64 { return env.gcounter_increment(buf(0, this.nameBytes), by) }
  value(): u64 { return env.gcounter_value(buf(0, this.nameBytes)) }
}

/** A counter that goes up and down (per-node grow and shrink totals): the same as Counter. */
export class PNCounter extends Counter {}

/**
 * A collaborative text (RGA): insertions and deletions at code point positions that merge in any
 * order; concurrent insertions at one place are kept whole, newest first.
 */
export class Text {
  private nameBytes: ArrayBuffer
  constructor(public name: string) { this.nameBytes = utf8(name) }

  /** Inserts `text` at code point `pos` (0 … len); returns the new length. A position past the end fails the call. */
  insert(pos: i64, text: string): i64 { return <i64>env.text_insert(buf(0, this.nameBytes), <u64>pos, buf(1, utf8(text))) }
  /** Appends `text`; returns the new length. */
  append(text: string): i64 { return this.insert(this.len(), text) }
  /** Deletes up to `count` code points from `pos`; returns how many were deleted. */
  delete(pos: i64, count: i64): i64 { return <i64>env.text_delete(buf(0, this.nameBytes), <u64>pos, <u64>count) }
  len(): i64 { return <i64>env.text_len(buf(0, this.nameBytes)) }
  /** Code points [start, end) (clamped to the text). */
  read(start: i64 = 0, end: i64 = i64.MAX_VALUE): string {
    env.text_read(buf(0, this.nameBytes), <u64>start, <u64>end, DATA_REGISTER)
    const r = readRegister(DATA_REGISTER)
    return r === null ? "" : fromUtf8(r!)
  }
  toString(): string { return this.read() }
}

/**
 * Node-local private storage: kept on this node only, never in a delta, the state hash or sync
 * (a per-node secret, a local cache). Written with the call's other writes, or not at all.
 */
export class PrivateStorage {
  static read(key: string): string | null { return registerString(env.private_storage_read(buf(0, utf8(key)), DATA_REGISTER)) }
  static write(key: string, value: string): string | null {
    return registerString(env.private_storage_write(buf(0, utf8(key)), buf(1, utf8(value)), DATA_REGISTER))
  }
  static remove(key: string): string | null { return registerString(env.private_storage_remove(buf(0, utf8(key)), DATA_REGISTER)) }
}

/** Blobs: content-addressed files a node holds (`meroctl blob add`), named by base58 ids. */
export class Blobs {
  /**
   * Shares the blob with this context's members (they can fetch it from this node, e.g. with
   * `meroctl blob get <id> --context <ctx>`), and keeps it while the context exists. Returns its
   * size, or -1 when this node does not hold it. A malformed id fails the call.
   */
  static announce(blobId: string): i64 {
    const id = fromBase58(blobId)
    if (id === null || id.byteLength != 32) panic("'" + blobId + "' is not a blob id (32 bytes in base58)")
    const size = env.blob_announce_to_context(buf(0, id!))
    return size == u64.MAX_VALUE ? -1 : <i64>size
  }
}
