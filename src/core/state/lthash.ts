import { endianness } from 'node:os'
import { createLtHashKernel, KERNEL_BLOCK_OFFSET, KERNEL_DIGEST_BYTES, KERNEL_DIGEST_OFFSET } from './lthash-kernel.js'

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
 * function (what the paper asks for, as SHAKE128 was before), with 128-bit security. It and the
 * sum run in a WebAssembly SIMD kernel (lthash-kernel.ts): ~1.3 µs per pair instead of ~7.7 µs
 * for SHAKE128 through node:crypto plus a JavaScript sum. Coordinate count and width are unchanged.
 * A digest's bytes are its 1024 coordinates, little-endian.
 */
export type LtHash = Uint16Array

export const LTHASH_COORDS = 1024
export const LTHASH_BYTES = LTHASH_COORDS * 2

if (endianness() !== 'LE') throw new Error('mero state hashing assumes a little-endian platform')

export function emptyLtHash(): LtHash {
  return new Uint16Array(LTHASH_COORDS)
}

const kernel = createLtHashKernel()
const kernelBytes = new Uint8Array(kernel.memory.buffer)
const kernelDigest = new Uint16Array(kernel.memory.buffer, KERNEL_DIGEST_OFFSET, KERNEL_DIGEST_BYTES / 2)

function apply(combine: () => void, digest: LtHash, id: Uint8Array, hash: Uint8Array): void {
  kernelBytes.set(id, KERNEL_BLOCK_OFFSET)
  kernelBytes.set(hash, KERNEL_BLOCK_OFFSET + 32)
  kernelDigest.set(digest)
  combine()
  digest.set(kernelDigest)
}

export function ltAdd(digest: LtHash, id: Uint8Array, hash: Uint8Array): void {
  apply(kernel.add, digest, id, hash)
}

export function ltSub(digest: LtHash, id: Uint8Array, hash: Uint8Array): void {
  apply(kernel.sub, digest, id, hash)
}

export function ltBytes(digest: LtHash): Buffer {
  return Buffer.from(digest.buffer, digest.byteOffset, LTHASH_BYTES)
}

export function ltFromBytes(bytes: Uint8Array): LtHash {
  const out = new Uint16Array(LTHASH_COORDS)
  new Uint8Array(out.buffer).set(bytes.subarray(0, LTHASH_BYTES))
  return out
}
