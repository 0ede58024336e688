/** Unsigned LEB128 of a u32 (WebAssembly's integer encoding: section sizes, counts, indices). */
export function u32Leb(value: number): number[] {
  const out: number[] = []
  let v = value >>> 0
  do {
    let b = v & 0x7f
    v >>>= 7
    if (v !== 0) b |= 0x80
    out.push(b)
  } while (v !== 0)
  return out
}
