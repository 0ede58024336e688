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

  /** The functions for import module "env". */
  imports(): Record<string, Function> {
    const impl = this.implementations()
    const out: Record<string, Function> = {}
    for (const [name, fn] of Object.entries(impl)) {
      const writes = HOST_ABI[name]?.writes === true
      out[name] = (...args: unknown[]) => {
        if (this.fatal) throw this.fatal
        this.hostCalls++
        try {
          if (writes && this.s.readOnly) {
            throw new MeroError('ExecutionFailed', `method '${this.s.method}' is a read-only view and cannot write state (it called ${name})`)
          }
          return (fn as (...a: unknown[]) => unknown)(...args)
        } catch (e) {
          this.fatal = asMeroError(e, name)
          throw this.fatal
        }
      }
    }
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

  private implementations(): Record<string, Function> {
    const s = this.s
    const L = s.limits
    return {
      panic: (loc: bigint) => {
        throw new MeroError('ExecutionFailed', `the application panicked${this.location(loc)}`)
      },
      panic_utf8: (msg: bigint, loc: bigint) => {
        const text = this.memory.readUtf8(msg, L.maxLogBytes, 'panic message')
        throw new MeroError('ExecutionFailed', `the application panicked: ${text}${this.location(loc)}`, { panic: text })
      },
      register_len: (reg: bigint) => {
        const r = this.registers.get(reg)
        return r ? BigInt(r.length) : ABSENT
      },
      read_register: (reg: bigint, dst: bigint) => {
        const r = this.registers.get(reg)
        if (!r) throw new MeroError('ExecutionFailed', `read_register: register ${BigInt.asUintN(64, reg)} is empty`)
        const { ptr, len } = this.memory.buffer(dst, 'read_register destination')
        if (len !== r.length) return 0
        this.memory.view(ptr, len, 'read_register destination').set(r)
        return 1
      },
      input: (reg: bigint) => this.setRegister(reg, s.input),
      value_return: (ptr: bigint) => {
        const at = toOffset(ptr, 'value_return')
        const tag = this.memory.u64(at, 'value_return')
        if (tag !== 0n && tag !== 1n) throw new MeroError('ExecutionFailed', `value_return: tag must be 0 (Ok) or 1 (Err), got ${tag}`)
        const bytes = this.memory.readBuffer(at + 8, L.maxReturnBytes, 'return value')
        this.returned = { ok: tag === 0n, bytes }
      },
      log_utf8: (ptr: bigint) => {
        if (this.logs.length >= L.maxLogs) throw new MeroError('LimitExceeded', `more than ${L.maxLogs} log lines`)
        this.logs.push(this.memory.readUtf8(ptr, L.maxLogBytes, 'log line'))
      },
      emit: (ptr: bigint) => {
        if (this.events.length >= L.maxEvents) throw new MeroError('LimitExceeded', `more than ${L.maxEvents} events`)
        const at = toOffset(ptr, 'event')
        const kind = this.memory.readUtf8(at, L.maxEventKindBytes, 'event kind')
        if (kind.length === 0) throw new MeroError('ExecutionFailed', 'event kind is empty')
        const data = this.memory.readBuffer(at + 16, L.maxEventDataBytes, 'event data')
        this.events.push({ kind, data })
      },
      context_id: (reg: bigint) => this.setRegister(reg, s.contextId),
      executor_id: (reg: bigint) => this.setRegister(reg, s.executor),
      time_now: (dst: bigint) => {
        const b = Buffer.alloc(8)
        b.writeBigUInt64LE(BigInt.asUintN(64, s.now()))
        this.memory.writeExact(dst, b, 'time_now buffer')
      },
      random_bytes: (dst: bigint) => {
        const { ptr, len } = this.memory.buffer(dst, 'random_bytes buffer')
        if (len > L.maxRandomBytes) throw new MeroError('LimitExceeded', `random_bytes: ${len} bytes requested, at most ${L.maxRandomBytes} per call`)
        randomFillSync(this.memory.view(ptr, len, 'random_bytes buffer'))
      },

      storage_read: (key: bigint, reg: bigint) => this.found(reg, s.state.read(this.key(key))),
      storage_write: (key: bigint, val: bigint, reg: bigint) => this.found(reg, s.state.write(this.key(key), this.value(val))),
      storage_remove: (key: bigint, reg: bigint) => this.found(reg, s.state.remove(this.key(key))),

      map_get: (name: bigint, key: bigint, reg: bigint) => this.found(reg, s.state.mapGet(this.name(name), this.key(key))),
      map_insert: (name: bigint, key: bigint, val: bigint, reg: bigint) => {
        const n = this.name(name)
        return this.found(reg, s.state.mapInsert(n, this.key(key), this.value(val)))
      },
      map_remove: (name: bigint, key: bigint, reg: bigint) => this.found(reg, s.state.mapRemove(this.name(name), this.key(key))),
      map_contains: (name: bigint, key: bigint) => (s.state.mapContains(this.name(name), this.key(key)) ? 1 : 0),
      map_len: (name: bigint) => BigInt(s.state.mapLen(this.name(name))),
      map_entries: (name: bigint, reg: bigint) => {
        const entries = s.state.mapEntries(this.name(name))
        this.setRegister(reg, encodeList(entries.flat(), entries.length, L.maxRegisterBytes))
        return BigInt(entries.length)
      },
      map_clear: (name: bigint) => BigInt(s.state.mapClear(this.name(name))),

      set_add: (name: bigint, val: bigint) => (s.state.setAdd(this.name(name), this.value(val, 'set element')) ? 1 : 0),
      set_remove: (name: bigint, val: bigint) => (s.state.setRemove(this.name(name), this.value(val, 'set element')) ? 1 : 0),
      set_contains: (name: bigint, val: bigint) => (s.state.setContains(this.name(name), this.value(val, 'set element')) ? 1 : 0),
      set_len: (name: bigint) => BigInt(s.state.setLen(this.name(name))),
      set_values: (name: bigint, reg: bigint) => {
        const values = s.state.setValues(this.name(name))
        this.setRegister(reg, encodeList(values, values.length, L.maxRegisterBytes))
        return BigInt(values.length)
      },

      counter_add: (name: bigint, delta: bigint) => i64(s.state.counterAdd(this.name(name), delta), 'counter value'),
      counter_value: (name: bigint) => i64(s.state.counterValue(this.name(name)), 'counter value'),

      vector_push: (name: bigint, val: bigint) => BigInt(s.state.vectorPush(this.name(name), this.value(val))),
      vector_get: (name: bigint, index: bigint, reg: bigint) => {
        const n = this.name(name)
        const i = BigInt.asUintN(64, index)
        if (i >= BigInt(s.state.vectorLen(n))) return 0
        return this.found(reg, s.state.vectorGet(n, Number(i)))
      },
      vector_set: (name: bigint, index: bigint, val: bigint, reg: bigint) => {
        const n = this.name(name)
        const i = BigInt.asUintN(64, index)
        const len = s.state.vectorLen(n)
        if (i >= BigInt(len)) throw new MeroError('ExecutionFailed', `vector_set: index ${i} is out of range for vector '${n}' of length ${len}`)
        return this.found(reg, s.state.vectorSet(n, Number(i), this.value(val)))
      },
      vector_pop: (name: bigint, reg: bigint) => this.found(reg, s.state.vectorPop(this.name(name))),
      vector_len: (name: bigint) => BigInt(s.state.vectorLen(this.name(name))),
    }
  }

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
