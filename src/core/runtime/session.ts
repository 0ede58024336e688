import { randomFillSync } from 'node:crypto'
import { MeroError } from '../primitives/errors.js'
import { HOST_ABI } from './host-abi.js'
import type { HostBlobs, HostState, ScanRange } from './host-state.js'
import type { RuntimeLimits } from './limits.js'
import { GuestMemory, toOffset } from './guest-memory.js'

export interface AppEvent {
  kind: string
  data: Uint8Array
}

export interface SessionInput {
  method: string
  input: Uint8Array
  state: HostState
  contextId: Uint8Array
  executor: Uint8Array
  limits: RuntimeLimits
  readOnly: boolean
  /** Unix time in nanoseconds. */
  now: () => bigint
  /** The node's blobs, for blob_announce_to_context. */
  blobs?: HostBlobs
}

/** Register lookups answer u64::MAX (as an i64: -1) when the register is absent. */
const ABSENT = -1n
/** The most entries one scan returns; a larger limit is cut to it (the SDK reads in pages). */
export const MAX_SCAN_ENTRIES = 100_000
const SCAN_REVERSE = 1n
const U64_MAX = (1n << 64n) - 1n
const I64_MIN = -(1n << 63n)
const I64_MAX = (1n << 63n) - 1n

// host functions take the guest's i64 arguments as bigint; `any` lets each declare its own arity
type HostFunction = (x: ExecutionSession, ...args: any[]) => unknown

/**
 * One execution's host side: the "env" functions, the registers, and what the guest produced
 * (logs, events, the return value). A host function that refuses (limit, bad pointer, write in a
 * read-only view, panic) records the error as `fatal` and throws; the error is rethrown after the
 * call even if the guest somehow swallowed the exception, and every later host call fails too.
 */
export class ExecutionSession {
  readonly logs: string[] = []
  readonly events: AppEvent[] = []
  returned?: { ok: boolean; bytes: Uint8Array }
  fatal?: MeroError
  hostCalls = 0

  private mem?: GuestMemory
  private readonly registers = new Map<bigint, Uint8Array>()
  private registerBytes = 0

  constructor(private readonly s: SessionInput) {}

  attachMemory(memory: WebAssembly.Memory): void {
    this.mem = new GuestMemory(memory)
  }

  /**
   * Runs host function `name` for the guest: the "env" import of that name calls this (the
   * runtime binds its imports once and routes them to the executing session).
   */
  call(name: string, args: unknown[]): unknown {
    if (this.fatal) throw this.fatal
    this.hostCalls++
    try {
      const fn = HOST_FUNCTIONS[name]
      if (!fn) throw new MeroError('ExecutionFailed', `unknown host function ${name}`)
      if (this.s.readOnly && HOST_ABI[name]?.writes === true) {
        throw new MeroError('ExecutionFailed', `method '${this.s.method}' is a read-only view and cannot write state (it called ${name})`)
      }
      return fn(this, ...args)
    } catch (e) {
      this.fatal = asMeroError(e, name)
      throw this.fatal
    }
  }

  /** Functions for import module "env" bound to this session alone (one closure per host function). */
  imports(): Record<string, Function> {
    const out: Record<string, Function> = {}
    for (const name of Object.keys(HOST_FUNCTIONS)) out[name] = (...args: unknown[]) => this.call(name, args)
    return out
  }

  private get memory(): GuestMemory {
    if (!this.mem) throw new MeroError('ExecutionFailed', 'a host function was called before the module exported its memory')
    return this.mem
  }

  private setRegister(reg: bigint, bytes: Uint8Array): void {
    const old = this.registers.get(reg)
    if (!old && this.registers.size >= this.s.limits.maxRegisters) {
      throw new MeroError('LimitExceeded', `more than ${this.s.limits.maxRegisters} registers in use`)
    }
    const total = this.registerBytes - (old?.length ?? 0) + bytes.length
    if (total > this.s.limits.maxRegisterBytes) throw new MeroError('LimitExceeded', `registers hold more than ${this.s.limits.maxRegisterBytes} bytes`)
    this.registers.set(reg, bytes)
    this.registerBytes = total
  }

  private key(ptr: bigint, what = 'key'): Uint8Array {
    return this.memory.readBuffer(ptr, this.s.limits.maxKeyBytes, what)
  }

  private value(ptr: bigint, what = 'value'): Uint8Array {
    return this.memory.readBuffer(ptr, this.s.limits.maxValueBytes, what)
  }

  private name(ptr: bigint): string {
    const name = this.memory.readUtf8(ptr, this.s.limits.maxCollectionNameBytes, 'collection name')
    if (name.length === 0) throw new MeroError('ExecutionFailed', 'collection name is empty')
    return name
  }

  /** A HostState family the state may leave out (see host-state.ts). */
  private need<K extends keyof HostState>(name: K, family: string): NonNullable<HostState[K]> {
    const fn = this.s.state[name]
    if (typeof fn !== 'function') throw new MeroError('ExecutionFailed', `this node's state does not support ${family}`)
    return (fn as Function).bind(this.s.state) as NonNullable<HostState[K]>
  }

  /** A scan's range from its arguments: lo and hi bufs (empty: unbounded), offset, limit, flags. */
  private range(lo: bigint, hi: bigint, offset: bigint, limit: bigint, flags: bigint): ScanRange {
    const u = (v: bigint) => BigInt.asUintN(64, v)
    if ((u(flags) & ~SCAN_REVERSE) !== 0n) throw new MeroError('ExecutionFailed', `scan: unknown flags ${u(flags)} (1 = reverse)`)
    const off = u(offset)
    if (off > BigInt(Number.MAX_SAFE_INTEGER)) throw new MeroError('ExecutionFailed', `scan: offset ${off} is out of range`)
    const lim = u(limit) > BigInt(MAX_SCAN_ENTRIES) ? MAX_SCAN_ENTRIES : Number(u(limit))
    return { lo: this.key(lo, 'scan lower bound'), hi: this.key(hi, 'scan upper bound'), offset: Number(off), limit: lim, reverse: (u(flags) & SCAN_REVERSE) !== 0n }
  }

  /** A position or count argument (u64) as a number (a huge one reads as MAX_SAFE_INTEGER: past any end). */
  private index(v: bigint): number {
    const n = BigInt.asUintN(64, v)
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n)
  }

  /** Puts a listing into `reg` and returns its count. */
  private listing(reg: bigint, items: Uint8Array[], count: number): bigint {
    this.setRegister(reg, encodeList(items, count, this.s.limits.maxRegisterBytes))
    return BigInt(count)
  }

  /** Puts `bytes` (if any) into `reg`; 1 when present, 0 when absent. */
  private found(reg: bigint, bytes: Uint8Array | undefined): number {
    if (bytes === undefined) return 0
    this.setRegister(reg, bytes)
    return 1
  }

  /**
   * The host functions, one per HOST_ABI entry, written against the session `x` so that no
   * closure is created per execution.
   */
  static readonly functions: Readonly<Record<string, HostFunction>> = Object.freeze<Record<string, HostFunction>>({
    panic: (x, loc: bigint) => {
      throw new MeroError('ExecutionFailed', `the application panicked${x.location(loc)}`)
    },
    panic_utf8: (x, msg: bigint, loc: bigint) => {
      const text = x.memory.readUtf8(msg, x.s.limits.maxLogBytes, 'panic message')
      throw new MeroError('ExecutionFailed', `the application panicked: ${text}${x.location(loc)}`, { panic: text })
    },
    register_len: (x, reg: bigint) => {
      const r = x.registers.get(reg)
      return r ? BigInt(r.length) : ABSENT
    },
    read_register: (x, reg: bigint, dst: bigint) => {
      const r = x.registers.get(reg)
      if (!r) throw new MeroError('ExecutionFailed', `read_register: register ${BigInt.asUintN(64, reg)} is empty`)
      const { ptr, len } = x.memory.buffer(dst, 'read_register destination')
      if (len !== r.length) return 0
      x.memory.view(ptr, len, 'read_register destination').set(r)
      return 1
    },
    input: (x, reg: bigint) => x.setRegister(reg, x.s.input),
    value_return: (x, ptr: bigint) => {
      const at = toOffset(ptr, 'value_return')
      const tag = x.memory.u64(at, 'value_return')
      if (tag !== 0n && tag !== 1n) throw new MeroError('ExecutionFailed', `value_return: tag must be 0 (Ok) or 1 (Err), got ${tag}`)
      const bytes = x.memory.readBuffer(at + 8, x.s.limits.maxReturnBytes, 'return value')
      x.returned = { ok: tag === 0n, bytes }
    },
    log_utf8: (x, ptr: bigint) => {
      if (x.logs.length >= x.s.limits.maxLogs) throw new MeroError('LimitExceeded', `more than ${x.s.limits.maxLogs} log lines`)
      x.logs.push(x.memory.readUtf8(ptr, x.s.limits.maxLogBytes, 'log line'))
    },
    emit: (x, ptr: bigint) => {
      if (x.events.length >= x.s.limits.maxEvents) throw new MeroError('LimitExceeded', `more than ${x.s.limits.maxEvents} events`)
      const at = toOffset(ptr, 'event')
      const kind = x.memory.readUtf8(at, x.s.limits.maxEventKindBytes, 'event kind')
      if (kind.length === 0) throw new MeroError('ExecutionFailed', 'event kind is empty')
      const data = x.memory.readBuffer(at + 16, x.s.limits.maxEventDataBytes, 'event data')
      x.events.push({ kind, data })
    },
    context_id: (x, reg: bigint) => x.setRegister(reg, x.s.contextId),
    executor_id: (x, reg: bigint) => x.setRegister(reg, x.s.executor),
    time_now: (x, dst: bigint) => {
      const b = Buffer.alloc(8)
      b.writeBigUInt64LE(BigInt.asUintN(64, x.s.now()))
      x.memory.writeExact(dst, b, 'time_now buffer')
    },
    random_bytes: (x, dst: bigint) => {
      const { ptr, len } = x.memory.buffer(dst, 'random_bytes buffer')
      if (len > x.s.limits.maxRandomBytes) throw new MeroError('LimitExceeded', `random_bytes: ${len} bytes requested, at most ${x.s.limits.maxRandomBytes} per call`)
      randomFillSync(x.memory.view(ptr, len, 'random_bytes buffer'))
    },

    storage_read: (x, key: bigint, reg: bigint) => x.found(reg, x.s.state.read(x.key(key))),
    storage_write: (x, key: bigint, val: bigint, reg: bigint) => x.found(reg, x.s.state.write(x.key(key), x.value(val))),
    storage_remove: (x, key: bigint, reg: bigint) => x.found(reg, x.s.state.remove(x.key(key))),

    map_get: (x, name: bigint, key: bigint, reg: bigint) => x.found(reg, x.s.state.mapGet(x.name(name), x.key(key))),
    map_insert: (x, name: bigint, key: bigint, val: bigint, reg: bigint) => {
      const n = x.name(name)
      return x.found(reg, x.s.state.mapInsert(n, x.key(key), x.value(val)))
    },
    map_remove: (x, name: bigint, key: bigint, reg: bigint) => x.found(reg, x.s.state.mapRemove(x.name(name), x.key(key))),
    map_contains: (x, name: bigint, key: bigint) => (x.s.state.mapContains(x.name(name), x.key(key)) ? 1 : 0),
    map_len: (x, name: bigint) => BigInt(x.s.state.mapLen(x.name(name))),
    map_entries: (x, name: bigint, reg: bigint) => {
      const entries = x.s.state.mapEntries(x.name(name))
      x.setRegister(reg, encodeList(entries.flat(), entries.length, x.s.limits.maxRegisterBytes))
      return BigInt(entries.length)
    },
    map_clear: (x, name: bigint) => BigInt(x.s.state.mapClear(x.name(name))),

    set_add: (x, name: bigint, val: bigint) => (x.s.state.setAdd(x.name(name), x.value(val, 'set element')) ? 1 : 0),
    set_remove: (x, name: bigint, val: bigint) => (x.s.state.setRemove(x.name(name), x.value(val, 'set element')) ? 1 : 0),
    set_contains: (x, name: bigint, val: bigint) => (x.s.state.setContains(x.name(name), x.value(val, 'set element')) ? 1 : 0),
    set_len: (x, name: bigint) => BigInt(x.s.state.setLen(x.name(name))),
    set_values: (x, name: bigint, reg: bigint) => {
      const values = x.s.state.setValues(x.name(name))
      x.setRegister(reg, encodeList(values, values.length, x.s.limits.maxRegisterBytes))
      return BigInt(values.length)
    },

    counter_add: (x, name: bigint, delta: bigint) => i64(x.s.state.counterAdd(x.name(name), delta), 'counter value'),
    counter_value: (x, name: bigint) => i64(x.s.state.counterValue(x.name(name)), 'counter value'),

    vector_push: (x, name: bigint, val: bigint) => BigInt(x.s.state.vectorPush(x.name(name), x.value(val))),
    vector_get: (x, name: bigint, index: bigint, reg: bigint) => {
      const n = x.name(name)
      const i = BigInt.asUintN(64, index)
      if (i >= BigInt(x.s.state.vectorLen(n))) return 0
      return x.found(reg, x.s.state.vectorGet(n, Number(i)))
    },
    vector_set: (x, name: bigint, index: bigint, val: bigint, reg: bigint) => {
      const n = x.name(name)
      const i = BigInt.asUintN(64, index)
      const len = x.s.state.vectorLen(n)
      if (i >= BigInt(len)) throw new MeroError('ExecutionFailed', `vector_set: index ${i} is out of range for vector '${n}' of length ${len}`)
      return x.found(reg, x.s.state.vectorSet(n, Number(i), x.value(val)))
    },
    vector_pop: (x, name: bigint, reg: bigint) => x.found(reg, x.s.state.vectorPop(x.name(name))),
    vector_len: (x, name: bigint) => BigInt(x.s.state.vectorLen(x.name(name))),

    map_scan: (x, name: bigint, lo: bigint, hi: bigint, offset: bigint, limit: bigint, flags: bigint, reg: bigint) => {
      const entries = x.need('mapScan', 'map pages')(x.name(name), x.range(lo, hi, offset, limit, flags))
      return x.listing(reg, entries.flat(), entries.length)
    },
    set_scan: (x, name: bigint, lo: bigint, hi: bigint, offset: bigint, limit: bigint, flags: bigint, reg: bigint) => {
      const values = x.need('setScan', 'set pages')(x.name(name), x.range(lo, hi, offset, limit, flags))
      return x.listing(reg, values, values.length)
    },

    sorted_map_get: (x, name: bigint, key: bigint, reg: bigint) => x.found(reg, x.need('sortedMapGet', 'sorted maps')(x.name(name), x.key(key))),
    sorted_map_insert: (x, name: bigint, key: bigint, val: bigint, reg: bigint) => {
      const n = x.name(name)
      return x.found(reg, x.need('sortedMapInsert', 'sorted maps')(n, x.key(key), x.value(val)))
    },
    sorted_map_remove: (x, name: bigint, key: bigint, reg: bigint) => x.found(reg, x.need('sortedMapRemove', 'sorted maps')(x.name(name), x.key(key))),
    sorted_map_contains: (x, name: bigint, key: bigint) => (x.need('sortedMapContains', 'sorted maps')(x.name(name), x.key(key)) ? 1 : 0),
    sorted_map_len: (x, name: bigint) => BigInt(x.need('sortedMapLen', 'sorted maps')(x.name(name))),
    sorted_map_scan: (x, name: bigint, lo: bigint, hi: bigint, offset: bigint, limit: bigint, flags: bigint, reg: bigint) => {
      const entries = x.need('sortedMapScan', 'sorted maps')(x.name(name), x.range(lo, hi, offset, limit, flags))
      return x.listing(reg, entries.flat(), entries.length)
    },
    sorted_set_add: (x, name: bigint, val: bigint) => (x.need('sortedSetAdd', 'sorted sets')(x.name(name), x.key(val, 'set element')) ? 1 : 0),
    sorted_set_remove: (x, name: bigint, val: bigint) => (x.need('sortedSetRemove', 'sorted sets')(x.name(name), x.key(val, 'set element')) ? 1 : 0),
    sorted_set_contains: (x, name: bigint, val: bigint) => (x.need('sortedSetContains', 'sorted sets')(x.name(name), x.key(val, 'set element')) ? 1 : 0),
    sorted_set_len: (x, name: bigint) => BigInt(x.need('sortedSetLen', 'sorted sets')(x.name(name))),
    sorted_set_scan: (x, name: bigint, lo: bigint, hi: bigint, offset: bigint, limit: bigint, flags: bigint, reg: bigint) => {
      const values = x.need('sortedSetScan', 'sorted sets')(x.name(name), x.range(lo, hi, offset, limit, flags))
      return x.listing(reg, values, values.length)
    },

    register_get: (x, name: bigint, reg: bigint) => x.found(reg, x.need('registerGet', 'registers')(x.key(name, 'register name'))),
    register_set: (x, name: bigint, val: bigint, reg: bigint) => x.found(reg, x.need('registerSet', 'registers')(x.key(name, 'register name'), x.value(val))),
    register_clear: (x, name: bigint, reg: bigint) => x.found(reg, x.need('registerClear', 'registers')(x.key(name, 'register name'))),

    gcounter_increment: (x, name: bigint, by: bigint) => u64(x.need('gcounterAdd', 'grow-only counters')(x.name(name), BigInt.asUintN(64, by)), 'grow-only counter value'),
    gcounter_value: (x, name: bigint) => u64(x.need('gcounterValue', 'grow-only counters')(x.name(name)), 'grow-only counter value'),

    text_insert: (x, name: bigint, pos: bigint, text: bigint) => {
      const n = x.name(name)
      const value = x.memory.readUtf8(text, x.s.limits.maxValueBytes, 'text')
      return BigInt(x.need('textInsert', 'texts')(n, x.index(pos), value))
    },
    text_delete: (x, name: bigint, pos: bigint, count: bigint) => BigInt(x.need('textDelete', 'texts')(x.name(name), x.index(pos), x.index(count))),
    text_len: (x, name: bigint) => BigInt(x.need('textLen', 'texts')(x.name(name))),
    text_read: (x, name: bigint, start: bigint, end: bigint, reg: bigint) => {
      const text = x.need('textRead', 'texts')(x.name(name), x.index(start), x.index(end))
      x.setRegister(reg, Buffer.from(text, 'utf8'))
      return BigInt(codePointCount(text))
    },

    private_storage_read: (x, key: bigint, reg: bigint) => x.found(reg, x.need('privateRead', 'private storage')(x.key(key))),
    private_storage_write: (x, key: bigint, val: bigint, reg: bigint) => x.found(reg, x.need('privateWrite', 'private storage')(x.key(key), x.value(val))),
    private_storage_remove: (x, key: bigint, reg: bigint) => x.found(reg, x.need('privateRemove', 'private storage')(x.key(key))),

    blob_announce_to_context: (x, id: bigint) => {
      if (!x.s.blobs) throw new MeroError('ExecutionFailed', 'blobs are not available to this execution')
      const blob = x.memory.readBuffer(id, 32, 'blob id')
      if (blob.length !== 32) throw new MeroError('ExecutionFailed', `blob_announce_to_context: a blob id is 32 bytes, the guest passed ${blob.length}`)
      const size = x.s.blobs.announce(blob, x.s.contextId)
      return size === undefined ? ABSENT : BigInt(size)
    },
  })

  private location(loc: bigint): string {
    if (loc === 0n) return ''
    try {
      const at = toOffset(loc, 'panic location')
      const file = this.memory.readUtf8(at, 4096, 'panic location file')
      const line = this.memory.u32(at + 16, 'panic location')
      const column = this.memory.u32(at + 20, 'panic location')
      return ` (at ${file}:${line}:${column})`
    } catch {
      return ''
    }
  }
}

/** count:u32, then per item len:u32 ‖ bytes (the original's scan format). */
function encodeList(items: Uint8Array[], count: number, max: number): Uint8Array {
  let size = 4
  for (const it of items) size += 4 + it.length
  if (size > max) throw new MeroError('LimitExceeded', `the listing is ${size} bytes, more than the ${max} bytes a register may hold`)
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32LE(count, 0)
  let pos = 4
  for (const it of items) {
    out.writeUInt32LE(it.length, pos)
    out.set(it, pos + 4)
    pos += 4 + it.length
  }
  return out
}

/** A u64 result, returned in the i64 the ABI carries (the guest reads it as u64). */
function u64(v: bigint, what: string): bigint {
  if (v < 0n || v > U64_MAX) throw new MeroError('ExecutionFailed', `${what} ${v} does not fit in a u64`)
  return BigInt.asIntN(64, v)
}

function codePointCount(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

function i64(v: bigint, what: string): bigint {
  if (v < I64_MIN || v > I64_MAX) throw new MeroError('ExecutionFailed', `${what} ${v} does not fit in an i64`)
  return v
}

function asMeroError(e: unknown, fn: string): MeroError {
  if (e instanceof MeroError) return e
  return new MeroError('ExecutionFailed', `host function ${fn} failed: ${(e as Error)?.message ?? String(e)}`)
}

const HOST_FUNCTIONS: Readonly<Record<string, HostFunction>> = ExecutionSession.functions
