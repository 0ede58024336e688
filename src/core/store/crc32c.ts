/**
 * CRC-32C (Castagnoli), as RocksDB checksums its log records, with its "mask" (a stored CRC is
 * rotated and offset so that a CRC of data holding CRCs is not trivially zero). Slicing-by-8:
 * Node has no CRC-32C of its own, and a write-ahead log is read whole at every open.
 */
const TABLES: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t0[i] = c >>> 0
  }
  const tables = [t0]
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1]!
    const next = new Uint32Array(256)
    for (let i = 0; i < 256; i++) next[i] = (prev[i]! >>> 8) ^ t0[prev[i]! & 0xff]!
    tables.push(next)
  }
  return tables
})()

/** Extends `crc` (a finished CRC-32C, 0 to start) over `bytes`. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array]
  let c = ~crc >>> 0
  let i = 0
  const n = bytes.length
  for (; i + 8 <= n; i += 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0
    c = t7[lo & 0xff]! ^ t6[(lo >>> 8) & 0xff]! ^ t5[(lo >>> 16) & 0xff]! ^ t4[lo >>> 24]! ^ t3[bytes[i + 4]!]! ^ t2[bytes[i + 5]!]! ^ t1[bytes[i + 6]!]! ^ t0[bytes[i + 7]!]!
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

const MASK_DELTA = 0xa282ead8

/** RocksDB's stored form of a CRC (util/crc32c.h Mask). */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0
}
