/**
 * BLAKE3 (unkeyed hash mode) of exactly one 64-byte input, in extended-output mode. Such an input
 * is a single block of a single chunk that is also the root, so every 64-byte output block is one
 * compression of the same message with the output counter as the block counter, and no tree or
 * chaining state is needed. The output is byte-for-byte the reference BLAKE3 output for that input.
 *
 * Why hand-written: node:crypto has no BLAKE3, and its SHAKE128 costs ~7 µs for the 2 KiB an LtHash
 * expansion needs (mostly per-call overhead); this runs the 32 compressions in ~5 µs.
 */
const IV = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
const CHUNK_START = 1
const CHUNK_END = 2
const ROOT = 8
const BLOCK_LEN = 64
const ROUNDS = 7

/** For each of the 7 rounds' 16 message slots, which message word it takes (the permuted schedule). */
const SCHEDULE_ORDER = (() => {
  const permutation = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
  const order = new Uint8Array(ROUNDS * 16)
  let words = Array.from({ length: 16 }, (_, i) => i)
  for (let r = 0; r < ROUNDS; r++) {
    order.set(words, r * 16)
    words = permutation.map((j) => words[j]!)
  }
  return order
})()

const schedule = new Uint32Array(ROUNDS * 16)

/**
 * Writes `out.length * 4` bytes of BLAKE3 output for the 64-byte input held in `block` (16
 * little-endian words). `out.length` must be a multiple of 16 (whole 64-byte output blocks).
 */
export function blake3Xof64(block: Uint32Array, out: Uint32Array): void {
  const s = schedule
  for (let i = 0; i < s.length; i++) s[i] = block[SCHEDULE_ORDER[i]!]!
  const flags = CHUNK_START | CHUNK_END | ROOT
  const blocks = out.length >>> 4
  for (let t = 0; t < blocks; t++) {
    let v0 = IV[0]! | 0, v1 = IV[1]! | 0, v2 = IV[2]! | 0, v3 = IV[3]! | 0
    let v4 = IV[4]! | 0, v5 = IV[5]! | 0, v6 = IV[6]! | 0, v7 = IV[7]! | 0
    let v8 = IV[0]! | 0, v9 = IV[1]! | 0, v10 = IV[2]! | 0, v11 = IV[3]! | 0
    let v12 = t, v13 = 0, v14 = BLOCK_LEN, v15 = flags
    for (let r = 0; r < s.length; r += 16) {
      // columns
      v0 = (v0 + v4 + s[r]!) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16); v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20)
      v0 = (v0 + v4 + s[r + 1]!) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24); v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25)
      v1 = (v1 + v5 + s[r + 2]!) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16); v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20)
      v1 = (v1 + v5 + s[r + 3]!) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24); v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25)
      v2 = (v2 + v6 + s[r + 4]!) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16); v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20)
      v2 = (v2 + v6 + s[r + 5]!) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24); v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25)
      v3 = (v3 + v7 + s[r + 6]!) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16); v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20)
      v3 = (v3 + v7 + s[r + 7]!) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24); v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25)
      // diagonals
      v0 = (v0 + v5 + s[r + 8]!) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16); v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20)
      v0 = (v0 + v5 + s[r + 9]!) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24); v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25)
      v1 = (v1 + v6 + s[r + 10]!) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16); v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20)
      v1 = (v1 + v6 + s[r + 11]!) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24); v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25)
      v2 = (v2 + v7 + s[r + 12]!) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16); v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20)
      v2 = (v2 + v7 + s[r + 13]!) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24); v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25)
      v3 = (v3 + v4 + s[r + 14]!) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16); v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20)
      v3 = (v3 + v4 + s[r + 15]!) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24); v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25)
    }
    const o = t << 4
    out[o] = v0 ^ v8; out[o + 1] = v1 ^ v9; out[o + 2] = v2 ^ v10; out[o + 3] = v3 ^ v11
    out[o + 4] = v4 ^ v12; out[o + 5] = v5 ^ v13; out[o + 6] = v6 ^ v14; out[o + 7] = v7 ^ v15
    out[o + 8] = v8 ^ IV[0]!; out[o + 9] = v9 ^ IV[1]!; out[o + 10] = v10 ^ IV[2]!; out[o + 11] = v11 ^ IV[3]!
    out[o + 12] = v12 ^ IV[4]!; out[o + 13] = v13 ^ IV[5]!; out[o + 14] = v14 ^ IV[6]!; out[o + 15] = v15 ^ IV[7]!
  }
}
