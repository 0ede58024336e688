import { endianness } from 'node:os'
import { blake3Xof64 } from './blake3-xof.js'

/**
 * A homomorphic set hash (LtHash16, Bellare–Micciancio / Lewi et al.): the digest of a set of
 * (child id, child hash) pairs is the coordinate-wise sum mod 2^16 of 2 KiB expansions of each
 * pair into 1024 u16. Adding or removing one child costs O(1), whatever the collection's size,
 * and the digest depends only on the set, never on the order it was built in. Why not the plain
 * "children's hashes sorted by id": that rehashes every child of a collection on every write.
 * With 1024 16-bit coordinates, finding a collision is as hard as a lattice SIS instance
 * (~200-bit security per the LtHash paper); a 256-bit additive hash would not be safe.
 *
 * The expansion is BLAKE3's extended output of the 64-byte block id ‖ hash: an extendable-output
 * function (what the paper asks for, as SHAKE128 was before), with 128-bit security, at ~5 µs
 * instead of SHAKE128's ~7 µs through node:crypto. The coordinate count and width are unchanged.
 *
 * A digest is held as 512 u32 words, two little-endian u16 coordinates per word, so that the
 * sums run two coordinates at a time (SWAR, carries kept inside each 16-bit lane); its bytes are
 * the 1024 coordinates in little-endian order.
 */
export type LtHash = Uint32Array

export const LTHASH_COORDS = 1024
export const LTHASH_BYTES = LTHASH_COORDS * 2
const WORDS = LTHASH_BYTES / 4

if (endianness() !== 'LE') throw new Error('mero state hashing assumes a little-endian platform')

export function emptyLtHash(): LtHash {
  return new Uint32Array(WORDS)
}

const block = new Uint32Array(16)
const blockBytes = new Uint8Array(block.buffer)
const expansion = new Uint32Array(WORDS)

/** The pair's expansion, in a shared scratch array (valid until the next call). */
function expand(id: Uint8Array, hash: Uint8Array): Uint32Array {
  blockBytes.set(id, 0)
  blockBytes.set(hash, 32)
  blake3Xof64(block, expansion)
  return expansion
}

const LOW = 0x7fff7fff
const HIGH = 0x80008000

export function ltAdd(digest: LtHash, id: Uint8Array, hash: Uint8Array): void {
  const e = expand(id, hash)
  for (let i = 0; i < WORDS; i++) {
    const a = digest[i]!
    const b = e[i]!
    digest[i] = (((a & LOW) + (b & LOW)) | 0) ^ ((a ^ b) & HIGH)
  }
}

export function ltSub(digest: LtHash, id: Uint8Array, hash: Uint8Array): void {
  const e = expand(id, hash)
  for (let i = 0; i < WORDS; i++) {
    const a = digest[i]!
    const b = e[i]!
    digest[i] = (((a | HIGH) - (b & LOW)) | 0) ^ ((a ^ ~b) & HIGH)
  }
}

export function ltBytes(digest: LtHash): Buffer {
  return Buffer.from(digest.buffer, digest.byteOffset, LTHASH_BYTES)
}

export function ltFromBytes(bytes: Uint8Array): LtHash {
  const out = new Uint32Array(WORDS)
  new Uint8Array(out.buffer).set(bytes.subarray(0, LTHASH_BYTES))
  return out
}
