// CRDT collections held by the host (DESIGN §8), addressed by name. Keys and values are UTF-8
// strings here; the host treats them as bytes.
import * as env from "./env"
import { buf, utf8, fromUtf8, readRegister, decodeList, DATA_REGISTER } from "./host"

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
