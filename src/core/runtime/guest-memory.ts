import { MeroError } from '../primitives/errors.js'

/**
 * Bounds-checked access to a guest's linear memory. Pointers and lengths arrive as i64 (BigInt)
 * holding a u64; every access is checked against the memory's current size, and anything out of
 * range traps the call with a message naming the access. Views are taken fresh on every access
 * because memory.grow detaches the previous ArrayBuffer.
 */
export const BUFFER_STRUCT_BYTES = 16

export class GuestMemory {
  constructor(private readonly memory: WebAssembly.Memory) {}

  get byteLength(): number {
    return this.memory.buffer.byteLength
  }

  /** A view (not a copy) of `len` bytes at `ptr`. */
  view(ptr: bigint | number, len: bigint | number, what: string): Uint8Array {
    const p = toOffset(ptr, what)
    const l = toOffset(len, what)
    const size = this.memory.buffer.byteLength
    if (p + l > size) throw oob(what, p, l, size)
    return new Uint8Array(this.memory.buffer, p, l)
  }

  u64(ptr: number, what: string): bigint {
    return this.dataView().getBigUint64(this.checked(ptr, 8, what), true)
  }

  u32(ptr: number, what: string): number {
    return this.dataView().getUint32(this.checked(ptr, 4, what), true)
  }

  private dv?: DataView
  /** A DataView over the current buffer (a new one only after memory.grow replaced the buffer). */
  private dataView(): DataView {
    const buffer = this.memory.buffer
    if (this.dv?.buffer !== buffer) this.dv = new DataView(buffer)
    return this.dv
  }

  /** Reads a Buffer struct {ptr: u64, len: u64} at `structPtr`: where its bytes are. */
  buffer(structPtr: bigint | number, what: string): { ptr: number; len: number } {
    const at = toOffset(structPtr, what)
    const ptr = toOffset(this.u64(at, what), what)
    const len = toOffset(this.u64(at + 8, what), what)
    return { ptr, len }
  }

  /** Copies the bytes a Buffer struct points to, refusing more than `max` bytes. */
  readBuffer(structPtr: bigint | number, max: number, what: string): Uint8Array {
    const { ptr, len } = this.buffer(structPtr, what)
    if (len > max) throw new MeroError('LimitExceeded', `${what} is ${len} bytes, more than the ${max} allowed`)
    return Buffer.from(this.view(ptr, len, what))
  }

  readUtf8(structPtr: bigint | number, max: number, what: string): string {
    return decodeUtf8(this.readBuffer(structPtr, max, what), what)
  }

  /** Writes into the bytes a BufferMut struct points to; the lengths must match exactly. */
  writeExact(structPtr: bigint | number, bytes: Uint8Array, what: string): void {
    const { ptr, len } = this.buffer(structPtr, what)
    if (len !== bytes.length) throw new MeroError('ExecutionFailed', `${what} must be exactly ${bytes.length} bytes, the guest passed ${len}`)
    this.view(ptr, len, what).set(bytes)
  }

  private checked(ptr: number, n: number, what: string): number {
    const size = this.memory.buffer.byteLength
    if (ptr + n > size) throw oob(what, ptr, n, size)
    return ptr
  }
}

export function toOffset(v: bigint | number, what: string): number {
  const n = typeof v === 'bigint' ? (v < 0n ? v + (1n << 64n) : v) : BigInt(v)
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new MeroError('ExecutionFailed', `${what}: pointer or length ${n} is out of range of guest memory`)
  return Number(n)
}

function oob(what: string, ptr: number, len: number, size: number): MeroError {
  return new MeroError('ExecutionFailed', `${what}: guest memory access out of bounds (${len} bytes at ${ptr}, memory is ${size} bytes)`)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new MeroError('ExecutionFailed', `${what} is not valid UTF-8`)
  }
}
