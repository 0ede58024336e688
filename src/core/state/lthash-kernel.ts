/**
 * The LtHash inner loop as a small WebAssembly SIMD module, assembled here at load time (no build
 * step, no binary blob): `add()` / `sub()` expand the 64-byte block at offset 0 of its memory with
 * BLAKE3 (unkeyed hash of that one block, extended output to 2 KiB) and add / subtract the
 * expansion, as 1024 u16 coordinates mod 2^16, into the digest at offset 64.
 *
 * Why: a 64-byte input is a single block of a single root chunk, so the 32 output blocks are 32
 * independent compressions of the same message that differ only in their counter. Four of them
 * run side by side in i32x4 lanes (the way BLAKE3's own SIMD code runs), ~4x faster than the same
 * compressions in scalar JavaScript and ~5x faster than SHAKE128 through node:crypto.
 */
export const KERNEL_BLOCK_OFFSET = 0
export const KERNEL_DIGEST_OFFSET = 64
export const KERNEL_DIGEST_BYTES = 2048

export interface LtHashKernel {
  memory: WebAssembly.Memory
  add(): void
  sub(): void
}

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
const FLAGS = 1 | 2 | 8 // CHUNK_START | CHUNK_END | ROOT
const BLOCK_LEN = 64
const ROUNDS = 7
const MSG_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]

// --- WebAssembly binary encoding ---------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte]
    out.push(byte | 0x80)
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()]
const section = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload]
const name = (s: string) => vec([...Buffer.from(s, 'utf8')].map((b) => [b]))

const V128 = 0x7b
const I32 = 0x7f
const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Add: [0x6a],
  i32Shl: [0x74],
  i32LtU: [0x49],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
}
const v128Load = (offset: number) => op.simd(0x00, 4, ...uleb(offset))
const v128Load32Splat = (offset: number) => op.simd(0x09, 2, ...uleb(offset))
const v128Store = (offset: number) => op.simd(0x0b, 4, ...uleb(offset))
const i32x4Const = (lanes: number[]) => op.simd(0x0c, ...lanes.flatMap((x) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]))
const splatConst = (x: number) => i32x4Const([x, x, x, x])
/** i8x16.shuffle selecting whole 32-bit lanes (0–3: first operand, 4–7: second). */
const laneShuffle = (lanes: number[]) => op.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]))
const I32X4_SPLAT = op.simd(0x11)
const V128_OR = op.simd(0x50)
const V128_XOR = op.simd(0x51)
const I16X8_ADD = op.simd(0x8e)
const I16X8_SUB = op.simd(0x91)
const I32X4_SHL = op.simd(0xab)
const I32X4_SHR_U = op.simd(0xad)
const I32X4_ADD = op.simd(0xae)

// --- the function body ---------------------------------------------------------------------------

// locals: v0..v15 = BLAKE3 state (4 output blocks, one per lane), q0..q3 and t0..t3 = output
// transposition; then i32 `batch` (output blocks 4·batch .. 4·batch+3) and `addr` (= batch · 256).
const Q = 16
const T = 20
const BATCH = 24
const ADDR = 25

function messageOrder(): number[][] {
  const rounds: number[][] = []
  let words = Array.from({ length: 16 }, (_, i) => i)
  for (let r = 0; r < ROUNDS; r++) {
    rounds.push(words)
    words = MSG_PERMUTATION.map((j) => words[j]!)
  }
  return rounds
}

/** x = rotr(value on the stack, n), in every lane (shifts measured faster here than byte shuffles). */
function rotr(x: number, n: number): number[] {
  return [...op.localTee(x), ...op.i32Const(n), ...I32X4_SHR_U, ...op.localGet(x), ...op.i32Const(32 - n), ...I32X4_SHL, ...V128_OR, ...op.localSet(x)]
}

function g(a: number, b: number, c: number, d: number, mx: number, my: number): number[] {
  const msg = (w: number) => [...op.i32Const(KERNEL_BLOCK_OFFSET), ...v128Load32Splat(4 * w)]
  const addInto = (x: number, y: number, m: number) => [...op.localGet(x), ...op.localGet(y), ...I32X4_ADD, ...msg(m), ...I32X4_ADD, ...op.localSet(x)]
  const addPlain = (x: number, y: number) => [...op.localGet(x), ...op.localGet(y), ...I32X4_ADD, ...op.localSet(x)]
  const xorInto = (x: number, y: number) => [...op.localGet(x), ...op.localGet(y), ...V128_XOR]
  return [
    ...addInto(a, b, mx),
    ...xorInto(d, a), ...rotr(d, 16),
    ...addPlain(c, d),
    ...xorInto(b, c), ...rotr(b, 12),
    ...addInto(a, b, my),
    ...xorInto(d, a), ...rotr(d, 8),
    ...addPlain(c, d),
    ...xorInto(b, c), ...rotr(b, 7),
  ]
}

function body(combine: number[]): number[] {
  const code: number[] = [...op.i32Const(0), ...op.localSet(BATCH), ...op.loop]
  for (let i = 0; i < 8; i++) code.push(...splatConst(IV[i]!), ...op.localSet(i))
  for (let i = 0; i < 4; i++) code.push(...splatConst(IV[i]!), ...op.localSet(8 + i))
  code.push(...op.localGet(BATCH), ...op.i32Const(2), ...op.i32Shl, ...I32X4_SPLAT, ...i32x4Const([0, 1, 2, 3]), ...I32X4_ADD, ...op.localSet(12))
  code.push(...splatConst(0), ...op.localSet(13), ...splatConst(BLOCK_LEN), ...op.localSet(14), ...splatConst(FLAGS), ...op.localSet(15))
  for (const m of messageOrder()) {
    code.push(...g(0, 4, 8, 12, m[0]!, m[1]!), ...g(1, 5, 9, 13, m[2]!, m[3]!), ...g(2, 6, 10, 14, m[4]!, m[5]!), ...g(3, 7, 11, 15, m[6]!, m[7]!))
    code.push(...g(0, 5, 10, 15, m[8]!, m[9]!), ...g(1, 6, 11, 12, m[10]!, m[11]!), ...g(2, 7, 8, 13, m[12]!, m[13]!), ...g(3, 4, 9, 14, m[14]!, m[15]!))
  }
  code.push(...op.localGet(BATCH), ...op.i32Const(8), ...op.i32Shl, ...op.localSet(ADDR))
  for (let group = 0; group < 4; group++) {
    // q_j = output word 4·group + j of each lane's block
    for (let j = 0; j < 4; j++) {
      const w = 4 * group + j
      code.push(...op.localGet(w), ...(w < 8 ? op.localGet(w + 8) : splatConst(IV[w - 8]!)), ...V128_XOR, ...op.localSet(Q + j))
    }
    // 4×4 transpose: afterwards q_l = words 4·group .. 4·group+3 of the block in lane l
    const shuffleInto = (dst: number, x: number, y: number, lanes: number[]) => [...op.localGet(x), ...op.localGet(y), ...laneShuffle(lanes), ...op.localSet(dst)]
    code.push(...shuffleInto(T, Q, Q + 1, [0, 4, 1, 5]), ...shuffleInto(T + 1, Q, Q + 1, [2, 6, 3, 7]))
    code.push(...shuffleInto(T + 2, Q + 2, Q + 3, [0, 4, 1, 5]), ...shuffleInto(T + 3, Q + 2, Q + 3, [2, 6, 3, 7]))
    code.push(...shuffleInto(Q, T, T + 2, [0, 1, 4, 5]), ...shuffleInto(Q + 1, T, T + 2, [2, 3, 6, 7]))
    code.push(...shuffleInto(Q + 2, T + 1, T + 3, [0, 1, 4, 5]), ...shuffleInto(Q + 3, T + 1, T + 3, [2, 3, 6, 7]))
    for (let lane = 0; lane < 4; lane++) {
      const offset = KERNEL_DIGEST_OFFSET + 64 * lane + 16 * group
      code.push(...op.localGet(ADDR), ...op.localGet(ADDR), ...v128Load(offset), ...op.localGet(Q + lane), ...combine, ...v128Store(offset))
    }
  }
  code.push(...op.localGet(BATCH), ...op.i32Const(1), ...op.i32Add, ...op.localTee(BATCH), ...op.i32Const(KERNEL_DIGEST_BYTES / 256), ...op.i32LtU, ...op.brIf(0), ...op.end, ...op.end)
  const locals = vec([[...uleb(24), V128], [...uleb(2), I32]])
  return [...locals, ...code]
}

function moduleBytes(): Uint8Array {
  const functions = [body(I16X8_ADD), body(I16X8_SUB)]
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, 0x00, 0x00]])),
    ...section(3, vec([[0x00], [0x00]])),
    ...section(5, vec([[0x00, 0x01]])),
    ...section(7, vec([[...name('memory'), 0x02, 0x00], [...name('add'), 0x00, 0x00], [...name('sub'), 0x00, 0x01]])),
    ...section(10, vec(functions.map((f) => [...uleb(f.length), ...f]))),
  ])
}

export function createLtHashKernel(): LtHashKernel {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()))
  return instance.exports as unknown as LtHashKernel
}
