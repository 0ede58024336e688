import { isUtf8 } from 'node:buffer'
import { MeroError } from './errors.js'
import { readU64LE, writeU64LE } from './u64.js'

/**
 * A small, exact borsh writer/reader (little-endian integers, u32-length-prefixed byte strings,
 * vectors and strings, fixed arrays without prefix). Hand-written because decoding thousands of
 * ops a second through a schema interpreter is the hot path of catch-up; canonical by
 * construction, and the reader refuses truncated input and trailing bytes.
 */
export class Writer {
  private buf: Buffer
  private len = 0

  /** `capacity`: the initial buffer size; it grows as needed. */
  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity)
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.len++] = v
    return this
  }

  u32(v: number): this {
    this.ensure(4)
    this.buf.writeUInt32LE(v, this.len)
    this.len += 4
    return this
  }

  u64(v: bigint | number): this {
    this.ensure(8)
    this.len = writeU64LE(this.buf, typeof v === 'bigint' ? v : BigInt(v), this.len)
    return this
  }

  fixed(bytes: Uint8Array, size: number): this {
    if (bytes.length !== size) throw new MeroError('InvalidInput', `expected ${size} bytes, got ${bytes.length}`)
    this.ensure(size)
    this.buf.set(bytes, this.len)
    this.len += size
    return this
  }

  bytes(bytes: Uint8Array): this {
    this.u32(bytes.length)
    this.ensure(bytes.length)
    this.buf.set(bytes, this.len)
    this.len += bytes.length
    return this
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'))
  }

  option<T>(v: T | undefined | null, write: (v: T) => void): this {
    if (v === undefined || v === null) return this.u8(0)
    this.u8(1)
    write(v)
    return this
  }

  vec<T>(items: readonly T[], write: (v: T) => void): this {
    this.u32(items.length)
    for (const i of items) write(i)
    return this
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len))
  }
}

export class Reader {
  private pos = 0

  constructor(
    private readonly buf: Buffer,
    private readonly what = 'input',
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MeroError('InvalidInput', `${this.what} is truncated at byte ${this.pos}`)
  }

  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }

  u64(): bigint {
    this.need(8)
    const v = readU64LE(this.buf, this.pos)
    this.pos += 8
    return v
  }

  fixed(size: number): Buffer {
    this.need(size)
    const v = this.buf.subarray(this.pos, this.pos + size)
    this.pos += size
    return v
  }

  bytes(max = 1 << 20): Buffer {
    const n = this.u32()
    if (n > max) throw new MeroError('InvalidInput', `${this.what}: a field of ${n} bytes exceeds ${max}`)
    return this.fixed(n)
  }

  string(max = 4096): string {
    const b = this.bytes(max)
    if (!isUtf8(b)) throw new MeroError('InvalidInput', `${this.what}: a string is not valid UTF-8`)
    return b.toString('utf8')
  }

  bool(): boolean {
    const v = this.u8()
    if (v > 1) throw new MeroError('InvalidInput', `${this.what}: invalid boolean ${v}`)
    return v === 1
  }

  option<T>(read: () => T): T | undefined {
    const tag = this.u8()
    if (tag === 0) return undefined
    if (tag !== 1) throw new MeroError('InvalidInput', `${this.what}: invalid option tag ${tag}`)
    return read()
  }

  vec<T>(read: () => T, max: number, name: string): T[] {
    const n = this.u32()
    if (n > max) throw new MeroError('InvalidInput', `${this.what}: ${n} ${name}, more than the ${max} allowed`)
    const out: T[] = []
    for (let i = 0; i < n; i++) out.push(read())
    return out
  }

  get offset(): number {
    return this.pos
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new MeroError('InvalidInput', `${this.what} has ${this.buf.length - this.pos} trailing bytes`)
  }
}
