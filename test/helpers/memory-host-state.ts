import { createHash } from 'node:crypto'
import type { HostState, ScanRange } from '../../src/core/runtime/host-state.js'

/**
 * Test-only HostState kept in memory (the real CRDT state lives in src/core/state). A committed
 * base plus `overlay()`: an execution's writes go to a copy that is committed only on success,
 * which is the contract the runtime's caller follows.
 */
type Maps = {
  registers: Map<string, Buffer>
  maps: Map<string, Map<string, Buffer>>
  sets: Map<string, Set<string>>
  counters: Map<string, bigint>
  vectors: Map<string, Buffer[]>
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const unhex = (s: string) => Buffer.from(s, 'hex')

function clone(m: Maps): Maps {
  return {
    registers: new Map(m.registers),
    maps: new Map([...m.maps].map(([k, v]) => [k, new Map(v)])),
    sets: new Map([...m.sets].map(([k, v]) => [k, new Set(v)])),
    counters: new Map(m.counters),
    vectors: new Map([...m.vectors].map(([k, v]) => [k, [...v]])),
  }
}

function hashOf(m: Maps): Buffer {
  const h = createHash('sha256')
  const sorted = <T>(it: Iterable<[string, T]>) => [...it].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [k, v] of sorted(m.registers)) h.update(`r${k}=${hex(v)};`)
  for (const [n, map] of sorted(m.maps)) for (const [k, v] of sorted(map)) h.update(`m${n}/${k}=${hex(v)};`)
  for (const [n, set] of sorted(m.sets)) for (const v of [...set].sort()) h.update(`s${n}/${v};`)
  for (const [n, c] of sorted(m.counters)) h.update(`c${n}=${c};`)
  for (const [n, vec] of sorted(m.vectors)) h.update(`v${n}=${vec.map(hex).join(',')};`)
  return h.digest()
}

export class MemoryHostState implements HostState {
  writes = 0
  constructor(private m: Maps = { registers: new Map(), maps: new Map(), sets: new Map(), counters: new Map(), vectors: new Map() }, private readonly parent?: MemoryHostState) {}

  /** A copy whose writes reach this state only through commit(). */
  overlay(): MemoryHostState {
    return new MemoryHostState(clone(this.m), this)
  }

  commit(): void {
    if (!this.parent) throw new Error('not an overlay')
    this.parent.m = clone(this.m)
  }

  read(key: Uint8Array) { return this.m.registers.get(hex(key)) }
  write(key: Uint8Array, value: Uint8Array) { this.writes++; const old = this.read(key); this.m.registers.set(hex(key), Buffer.from(value)); return old }
  remove(key: Uint8Array) { this.writes++; const old = this.read(key); this.m.registers.delete(hex(key)); return old }

  private map(name: string) { let m = this.m.maps.get(name); if (!m) this.m.maps.set(name, (m = new Map())); return m }
  mapGet(map: string, key: Uint8Array) { return this.m.maps.get(map)?.get(hex(key)) }
  mapInsert(map: string, key: Uint8Array, value: Uint8Array) { this.writes++; const m = this.map(map); const old = m.get(hex(key)); m.set(hex(key), Buffer.from(value)); return old }
  mapRemove(map: string, key: Uint8Array) { this.writes++; const m = this.map(map); const old = m.get(hex(key)); m.delete(hex(key)); return old }
  mapContains(map: string, key: Uint8Array) { return this.m.maps.get(map)?.has(hex(key)) ?? false }
  mapLen(map: string) { return this.m.maps.get(map)?.size ?? 0 }
  mapEntries(map: string): [Uint8Array, Uint8Array][] {
    return [...(this.m.maps.get(map) ?? [])].map(([k, v]) => [unhex(k), v] as [Uint8Array, Uint8Array]).sort(([a], [b]) => Buffer.compare(a, b))
  }
  /** Pages in key order (what kv-store's `entries` reads): a sorted copy, filtered and sliced. */
  mapScan(map: string, r: ScanRange): [Uint8Array, Uint8Array][] {
    const inRange = this.mapEntries(map).filter(([k]) => (!r.lo?.length || Buffer.compare(k, r.lo) >= 0) && (!r.hi?.length || Buffer.compare(k, r.hi) < 0))
    if (r.reverse) inRange.reverse()
    return inRange.slice(r.offset, r.offset + r.limit)
  }
  mapClear(map: string) { this.writes++; const m = this.map(map); const n = m.size; m.clear(); return n }

  private set(name: string) { let s = this.m.sets.get(name); if (!s) this.m.sets.set(name, (s = new Set())); return s }
  setAdd(set: string, value: Uint8Array) { this.writes++; const s = this.set(set); const had = s.has(hex(value)); s.add(hex(value)); return !had }
  setRemove(set: string, value: Uint8Array) { this.writes++; return this.set(set).delete(hex(value)) }
  setContains(set: string, value: Uint8Array) { return this.m.sets.get(set)?.has(hex(value)) ?? false }
  setLen(set: string) { return this.m.sets.get(set)?.size ?? 0 }
  setValues(set: string) { return [...(this.m.sets.get(set) ?? [])].sort().map(unhex) }

  counterAdd(counter: string, delta: bigint) { this.writes++; const v = (this.m.counters.get(counter) ?? 0n) + delta; this.m.counters.set(counter, v); return v }
  counterValue(counter: string) { return this.m.counters.get(counter) ?? 0n }

  private vec(name: string) { let v = this.m.vectors.get(name); if (!v) this.m.vectors.set(name, (v = [])); return v }
  vectorPush(vector: string, value: Uint8Array) { this.writes++; return this.vec(vector).push(Buffer.from(value)) }
  vectorGet(vector: string, index: number) { return this.m.vectors.get(vector)?.[index] }
  vectorSet(vector: string, index: number, value: Uint8Array) { this.writes++; const v = this.vec(vector); const old = v[index]; v[index] = Buffer.from(value); return old }
  vectorPop(vector: string) { this.writes++; return this.vec(vector).pop() }
  vectorLen(vector: string) { return this.m.vectors.get(vector)?.length ?? 0 }

  rootHash() { return hashOf(this.m) }
}
