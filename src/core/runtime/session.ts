import { randomFillSync } from 'node:crypto'
import { MeroError } from '../primitives/errors.js'
import { HOST_ABI } from './host-abi.js'
import type { HostState } from './host-state.js'
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
}

/** Register lookups answer u64::MAX (as an i64: -1) when the register is absent. */
const ABSENT = -1n
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

function i64(v: bigint, what: string): bigint {
  if (v < I64_MIN || v > I64_MAX) throw new MeroError('ExecutionFailed', `${what} ${v} does not fit in an i64`)
  return v
}

function asMeroError(e: unknown, fn: string): MeroError {
  if (e instanceof MeroError) return e
  return new MeroError('ExecutionFailed', `host function ${fn} failed: ${(e as Error)?.message ?? String(e)}`)
}

const HOST_FUNCTIONS: Readonly<Record<string, HostFunction>> = ExecutionSession.functions
