import { createHash } from 'node:crypto'
import { endianness } from 'node:os'

/**
 * A homomorphic set hash (LtHash16, Bellare–Micciancio / Lewi et al.): the digest of a set of
 * (child id, child hash) pairs is the coordinate-wise sum mod 2^16 of SHAKE128 expansions of each
 * pair into 1024 u16. Adding or removing one child costs O(1), whatever the collection's size,
 * and the digest depends only on the set, never on the order it was built in. Why not the plain
 * "children's hashes sorted by id": that rehashes every child of a collection on every write.
 * With 1024 16-bit coordinates, finding a collision is as hard as a lattice SIS instance
 * (~200-bit security per the LtHash paper); a 256-bit additive hash would not be safe.
 */
export const LTHASH_COORDS = 1024
export const LTHASH_BYTES = LTHASH_COORDS * 2

if (endianness() !== 'LE') throw new Error('mero state hashing assumes a little-endian platform')

export function emptyLtHash(): Uint16Array {
  return new Uint16Array(LTHASH_COORDS)
}

const scratch = new Uint16Array(LTHASH_COORDS)
const scratchBytes = new Uint8Array(scratch.buffer)

/** The pair's expansion, in a shared scratch array (valid until the next call). */
function expand(id: Uint8Array, hash: Uint8Array): Uint16Array {
  // Copied into an aligned array: a Buffer may sit at an odd offset of a shared pool.
  scratchBytes.set(createHash('shake128', { outputLength: LTHASH_BYTES }).update(id).update(hash).digest())
  return scratch
}

export function ltAdd(digest: Uint16Array, id: Uint8Array, hash: Uint8Array): void {
  const e = expand(id, hash)
  for (let i = 0; i < LTHASH_COORDS; i++) digest[i] = digest[i]! + e[i]!
}

export function ltSub(digest: Uint16Array, id: Uint8Array, hash: Uint8Array): void {
  const e = expand(id, hash)
  for (let i = 0; i < LTHASH_COORDS; i++) digest[i] = digest[i]! - e[i]!
}

export function ltBytes(digest: Uint16Array): Buffer {
  return Buffer.from(digest.buffer, digest.byteOffset, LTHASH_BYTES)
}

export function ltFromBytes(bytes: Uint8Array): Uint16Array {
  const out = new Uint16Array(LTHASH_COORDS)
  new Uint8Array(out.buffer).set(bytes.subarray(0, LTHASH_BYTES))
  return out
}
