import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256, sha256Of } from '../../../src/core/primitives/hash.js'
import { readU64LE, writeU64LE } from '../../../src/core/primitives/u64.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'
import { Reader, Writer } from '../../../src/core/primitives/borsh.js'

const reference = (b: Uint8Array) => createHash('sha256').update(b).digest()

describe('sha256', () => {
  it('gives OpenSSL’s digest on both sides of the implementation switch', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 200, 254, 255, 256, 257, 400, 1000, 70_000]) {
      const b = Buffer.alloc(n, n % 251)
      expect(sha256Of(b).equals(reference(b)), `size ${n}`).toBe(true)
    }
    // a view into a larger buffer hashes only its own bytes
    const big = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256))
    expect(sha256Of(big.subarray(10, 90)).equals(reference(big.subarray(10, 90)))).toBe(true)
    expect(sha256Of(big.subarray(10, 290)).equals(reference(big.subarray(10, 290)))).toBe(true)
  })

  it('hashes the concatenation of parts, strings as UTF-8', () => {
    expect(sha256('ab', Buffer.from('cd'), 'é').equals(reference(Buffer.from('abcdé', 'utf8')))).toBe(true)
    expect(sha256('x'.repeat(300)).equals(reference(Buffer.from('x'.repeat(300))))).toBe(true)
  })
})

describe('u64 little-endian', () => {
  it('writes and reads the bytes Buffer does, at the edges of the range', () => {
    for (const v of [0n, 1n, 255n, 256n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      const mine = Buffer.alloc(12)
      const theirs = Buffer.alloc(12)
      expect(writeU64LE(mine, v, 3)).toBe(11)
      theirs.writeBigUInt64LE(v, 3)
      expect(mine.equals(theirs), `${v}`).toBe(true)
      expect(readU64LE(theirs, 3)).toBe(v)
    }
  })

  it('refuses values outside u64 and offsets outside the buffer, writing nothing', () => {
    const b = Buffer.alloc(8)
    for (const v of [-1n, 2n ** 64n]) {
      try {
        writeU64LE(b, v, 0)
        expect.unreachable()
      } catch (e) {
        expect(isMeroError(e, 'InvalidInput')).toBe(true)
      }
    }
    expect(() => writeU64LE(b, 1n, 1)).toThrow(RangeError)
    expect(() => readU64LE(b, 1)).toThrow(RangeError)
    expect(b.equals(Buffer.alloc(8))).toBe(true)
  })

  it('is what borsh writes and reads', () => {
    const bytes = new Writer().u64(2n ** 64n - 2n).u64(7).finish()
    expect(bytes.readBigUInt64LE(0)).toBe(2n ** 64n - 2n)
    const r = new Reader(bytes)
    expect(r.u64()).toBe(2n ** 64n - 2n)
    expect(r.u64()).toBe(7n)
    r.end()
    const short = new Reader(bytes.subarray(0, 12))
    short.u64()
    expect(() => short.u64()).toThrow(/truncated/)
  })
})
