// Friendly wrappers over the raw imports: Buffer structs, registers, input and output.
import * as env from "./env"

/** The register the SDK uses for every result (as the original's Rust SDK does). */
export const DATA_REGISTER: u64 = 0xfffffffe
const ABSENT: u64 = u64.MAX_VALUE

// Six 16-byte Buffer structs, reused: slots 0 and 1 are contiguous so they form an Event struct.
const SLOTS: usize = memory.data(96)
// ValueReturn struct: tag u64, then a Buffer.
const VALUE_RETURN: usize = memory.data(24)

/** Fills Buffer slot `slot` with `data` and returns the slot's address (as the ABI's u64). */
export function buf(slot: i32, data: ArrayBuffer): u64 {
  return bufRaw(slot, changetype<usize>(data), <usize>data.byteLength)
}

/** Fills Buffer slot `slot` with raw memory (`len` bytes at `ptr`). */
export function bufRaw(slot: i32, ptr: usize, len: usize): u64 {
  const p = SLOTS + (<usize>slot << 4)
  store<u64>(p, <u64>ptr)
  store<u64>(p, <u64>len, 8)
  return <u64>p
}

export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s)
}

export function fromUtf8(b: ArrayBuffer): string {
  return String.UTF8.decode(b)
}

/** The contents of a register, or null when it is empty. */
export function readRegister(reg: u64): ArrayBuffer | null {
  const len = env.register_len(reg)
  if (len == ABSENT) return null
  const out = new ArrayBuffer(<i32>len)
  if (env.read_register(reg, buf(5, out)) != 1) panic("read_register: length mismatch")
  return out
}

export function dataRegister(): ArrayBuffer {
  const r = readRegister(DATA_REGISTER)
  return r === null ? new ArrayBuffer(0) : r
}

/** The call's raw input bytes (the JSON arguments). */
export function inputBytes(): ArrayBuffer {
  env.input(DATA_REGISTER)
  return dataRegister()
}

function valueReturn(tag: u64, data: ArrayBuffer): void {
  valueReturnRaw(tag, changetype<usize>(data), <usize>data.byteLength)
}

/** Sets the return value from raw memory (the JSON writer's bytes, say): no copy. */
export function valueReturnRaw(tag: u64, ptr: usize, len: usize): void {
  store<u64>(VALUE_RETURN, tag)
  store<u64>(VALUE_RETURN, <u64>ptr, 8)
  store<u64>(VALUE_RETURN, <u64>len, 16)
  env.value_return(<u64>VALUE_RETURN)
}

/** Returns a JSON text as the method's Ok value. */
export function returnJson(json: string): void {
  valueReturn(0, utf8(json))
}

/** Returns a JSON text as the method's Err value: the call fails and nothing is committed. */
export function returnError(json: string): void {
  valueReturn(1, utf8(json))
}

export function log(message: string): void {
  env.log_utf8(buf(0, utf8(message)))
}

/** Emits an app event; `data` is usually JSON ("" for an event without payload). */
export function emit(kind: string, data: string): void {
  buf(0, utf8(kind))
  buf(1, utf8(data))
  env.emit(<u64>SLOTS)
}

/** Aborts the call with a message; nothing is committed. */
export function panic(message: string): void {
  env.panic_utf8(buf(4, utf8(message)), 0)
  unreachable()
}

export function contextId(): ArrayBuffer {
  env.context_id(DATA_REGISTER)
  return dataRegister()
}

export function executorId(): ArrayBuffer {
  env.executor_id(DATA_REGISTER)
  return dataRegister()
}

/** Unix time in nanoseconds. */
export function timeNow(): u64 {
  const out = new ArrayBuffer(8)
  env.time_now(buf(5, out))
  return load<u64>(changetype<usize>(out))
}

export function randomBytes(n: i32): ArrayBuffer {
  const out = new ArrayBuffer(n)
  env.random_bytes(buf(5, out))
  return out
}

/**
 * Splits a listing register into its items: count:u32, then per element `parts` items of
 * len:u32 ‖ bytes (set_values: one part per element; map_entries: two, key then value).
 */
export function decodeList(data: ArrayBuffer, parts: u32 = 1): ArrayBuffer[] {
  const base = changetype<usize>(data)
  const count = load<u32>(base) * parts
  const out = new Array<ArrayBuffer>()
  let pos: usize = 4
  for (let i: u32 = 0; i < count; i++) {
    const len = <i32>load<u32>(base + pos)
    pos += 4
    out.push(data.slice(<i32>pos, <i32>pos + len))
    pos += <usize>len
  }
  return out
}

/** Routes AssemblyScript's abort (failed assertions, bounds errors) to panic_utf8. */
export function abortHandler(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const m = message === null ? "abort" : message
  const f = fileName === null ? "" : " (at " + fileName + ":" + line.toString() + ":" + column.toString() + ")"
  panic(m + f)
}
