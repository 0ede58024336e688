import { describe, expect, it } from 'vitest'
import { emptyLtHash, ltAdd, ltBytes, ltFromBytes, ltSub } from '../../../src/core/state/lthash.js'

/** The official BLAKE3 test input: byte i is i mod 251. */
const VECTOR_INPUT = Buffer.from(Array.from({ length: 64 }, (_, i) => i % 251))

/** BLAKE3 of a 64-byte input, extended to 2 KiB: what one LtHash addition to an empty digest adds. */
function xof(input: Buffer): Buffer {
  const d = emptyLtHash()
  ltAdd(d, input.subarray(0, 32), input.subarray(32))
  return Buffer.from(ltBytes(d))
}

const id = (n: number) => Buffer.alloc(32, n)
const hash = (n: number) => Buffer.alloc(32, 100 + n)

describe('LtHash expansion (BLAKE3 of id ‖ hash)', () => {
  it('matches the official BLAKE3 test vector, and its extended output', () => {
    const out = xof(VECTOR_INPUT)
    expect(out.subarray(0, 32).toString('hex')).toBe('4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98')
    // The last output block (counter 31), as the reference implementation gives it.
    expect(out.subarray(2016).toString('hex')).toBe('1e258f9c5334f53118a535f9024727c79c6485c04d5ef16e0fb64a13887dc97d')
  })
})

describe('LtHash', () => {
  it('adds the expansion coordinate by coordinate, mod 2^16', () => {
    const d = emptyLtHash()
    ltAdd(d, id(1), hash(1))
    ltAdd(d, id(1), hash(1))
    const e = new Uint16Array(new Uint8Array(xof(Buffer.concat([id(1), hash(1)]))).buffer)
    const twice = new Uint16Array(new Uint8Array(ltBytes(d)).buffer)
    for (let i = 0; i < e.length; i++) expect(twice[i]).toBe((2 * e[i]!) & 0xffff)
  })

  it('is a set hash: any order gives the same digest, and a removal undoes an addition', () => {
    const a = emptyLtHash()
    const b = emptyLtHash()
    for (const n of [1, 2, 3]) ltAdd(a, id(n), hash(n))
    for (const n of [3, 1, 2]) ltAdd(b, id(n), hash(n))
    expect(ltBytes(a)).toEqual(ltBytes(b))
    ltSub(a, id(2), hash(2))
    const c = emptyLtHash()
    for (const n of [3, 1]) ltAdd(c, id(n), hash(n))
    expect(ltBytes(a)).toEqual(ltBytes(c))
    for (const n of [1, 3]) ltSub(a, id(n), hash(n))
    expect(ltBytes(a)).toEqual(ltBytes(emptyLtHash()))
  })

  it('round-trips through its bytes', () => {
    const d = emptyLtHash()
    ltAdd(d, id(5), hash(5))
    expect(ltBytes(ltFromBytes(ltBytes(d)))).toEqual(ltBytes(d))
  })
})
