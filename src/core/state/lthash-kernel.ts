import { u32Leb } from '../primitives/leb128.js'
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


type Bytes = number[] | Uint8Array
const join = (...parts: Bytes[]) => Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))))
const vec = (items: Bytes[]) => join(u32Leb(items.length), ...items)
const section = (id: number, payload: Uint8Array) => join([id], u32Leb(payload.length), payload)
const name = (s: string) => join(u32Leb(Buffer.byteLength(s)), Buffer.from(s, 'utf8'))

const V128 = 0x7b
const I32 = 0x7f

/**
 * Appends one function's instructions to a flat byte list (each helper pushes its bytes: built
 * by nested array spreads, the ~20 KiB module took ~20 ms to assemble at load time). Local
 * indices and i32 constants here are all below 64, so each LEB128 immediate is one byte.
 */
class Code {
  readonly bytes: number[] = []

  private push(...b: number[]): this {
    for (const x of b) this.bytes.push(x)
    return this
  }

  get(local: number): this {
    return this.push(0x20, local)
  }
  set(local: number): this {
    return this.push(0x21, local)
  }
  tee(local: number): this {
    return this.push(0x22, local)
  }
  i32(n: number): this {
    return this.push(0x41, n)
  }
  i32Add(): this {
    return this.push(0x6a)
  }
  i32Shl(): this {
    return this.push(0x74)
  }
  i32LtU(): this {
    return this.push(0x49)
  }
  loop(): this {
    return this.push(0x03, 0x40)
  }
  brIf(depth: number): this {
    return this.push(0x0d, depth)
  }
  end(): this {
    return this.push(0x0b)
  }
  simd(code: number, ...imm: number[]): this {
    return this.push(0xfd, ...u32Leb(code), ...imm)
  }
  v128Load(offset: number): this {
    return this.simd(0x00, 4, ...u32Leb(offset))
  }
  v128Load32Splat(offset: number): this {
    return this.simd(0x09, 2, ...u32Leb(offset))
  }
  v128Store(offset: number): this {
    return this.simd(0x0b, 4, ...u32Leb(offset))
  }
  i32x4Const(lanes: number[]): this {
    return this.simd(0x0c, ...lanes.flatMap((x) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff]))
  }
  splat(x: number): this {
    return this.i32x4Const([x, x, x, x])
  }
  /** i8x16.shuffle selecting whole 32-bit lanes (0–3: first operand, 4–7: second). */
  laneShuffle(lanes: number[]): this {
    return this.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]))
  }
  i32x4Splat(): this {
    return this.simd(0x11)
  }
  or(): this {
    return this.simd(0x50)
  }
  xor(): this {
    return this.simd(0x51)
  }
  i32x4Shl(): this {
    return this.simd(0xab)
  }
  i32x4ShrU(): this {
    return this.simd(0xad)
  }
  i32x4Add(): this {
    return this.simd(0xae)
  }
}

const I16X8_ADD = 0x8e
const I16X8_SUB = 0x91

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
function rotr(code: Code, x: number, n: number): void {
  code.tee(x).i32(n).i32x4ShrU().get(x).i32(32 - n).i32x4Shl().or().set(x)
}

/** BLAKE3's quarter-round G on state words [a, b, c, d] with message words mx, my. */
function g(code: Code, [a, b, c, d]: readonly number[], mx: number, my: number): void {
  const addMessage = (m: number) => code.get(a).get(b).i32x4Add().i32(KERNEL_BLOCK_OFFSET).v128Load32Splat(4 * m).i32x4Add().set(a)
  addMessage(mx)
  code.get(d).get(a).xor()
  rotr(code, d, 16)
  code.get(c).get(d).i32x4Add().set(c)
  code.get(b).get(c).xor()
  rotr(code, b, 12)
  addMessage(my)
  code.get(d).get(a).xor()
  rotr(code, d, 8)
  code.get(c).get(d).i32x4Add().set(c)
  code.get(b).get(c).xor()
  rotr(code, b, 7)
}

/** The state words of each G in a round: four columns, then four diagonals. */
const ROUND_LANES = [
  [0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15],
  [0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14],
]

function body(combine: number): Uint8Array {
  const c = new Code()
  c.i32(0).set(BATCH).loop()
  for (let i = 0; i < 8; i++) c.splat(IV[i]!).set(i)
  for (let i = 0; i < 4; i++) c.splat(IV[i]!).set(8 + i)
  c.get(BATCH).i32(2).i32Shl().i32x4Splat().i32x4Const([0, 1, 2, 3]).i32x4Add().set(12)
  c.splat(0).set(13).splat(BLOCK_LEN).set(14).splat(FLAGS).set(15)
  for (const m of messageOrder()) ROUND_LANES.forEach((lanes, i) => g(c, lanes, m[2 * i]!, m[2 * i + 1]!))
  c.get(BATCH).i32(8).i32Shl().set(ADDR)
  const shuffleInto = (dst: number, x: number, y: number, lanes: number[]) => c.get(x).get(y).laneShuffle(lanes).set(dst)
  for (let group = 0; group < 4; group++) {
    // q_j = output word 4·group + j of each lane's block
    for (let j = 0; j < 4; j++) {
      const w = 4 * group + j
      c.get(w)
      if (w < 8) c.get(w + 8)
      else c.splat(IV[w - 8]!)
      c.xor().set(Q + j)
    }
    // 4×4 transpose: afterwards q_l = words 4·group .. 4·group+3 of the block in lane l
    shuffleInto(T, Q, Q + 1, [0, 4, 1, 5])
    shuffleInto(T + 1, Q, Q + 1, [2, 6, 3, 7])
    shuffleInto(T + 2, Q + 2, Q + 3, [0, 4, 1, 5])
    shuffleInto(T + 3, Q + 2, Q + 3, [2, 6, 3, 7])
    shuffleInto(Q, T, T + 2, [0, 1, 4, 5])
    shuffleInto(Q + 1, T, T + 2, [2, 3, 6, 7])
    shuffleInto(Q + 2, T + 1, T + 3, [0, 1, 4, 5])
    shuffleInto(Q + 3, T + 1, T + 3, [2, 3, 6, 7])
    for (let lane = 0; lane < 4; lane++) {
      const offset = KERNEL_DIGEST_OFFSET + 64 * lane + 16 * group
      c.get(ADDR).get(ADDR).v128Load(offset).get(Q + lane).simd(combine).v128Store(offset)
    }
  }
  c.get(BATCH).i32(1).i32Add().tee(BATCH).i32(KERNEL_DIGEST_BYTES / 256).i32LtU().brIf(0).end().end()
  const locals = vec([[...u32Leb(24), V128], [...u32Leb(2), I32]])
  return join(locals, c.bytes)
}

function moduleBytes(): Uint8Array {
  const functions = [body(I16X8_ADD), body(I16X8_SUB)]
  return join(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vec([[0x60, 0x00, 0x00]])),
    section(3, vec([[0x00], [0x00]])),
    section(5, vec([[0x00, 0x01]])),
    section(7, vec([join(name('memory'), [0x02, 0x00]), join(name('add'), [0x00, 0x00]), join(name('sub'), [0x00, 0x01])])),
    section(10, vec(functions.map((f) => join(u32Leb(f.length), f)))),
  )
}

export function createLtHashKernel(): LtHashKernel {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()))
  return instance.exports as unknown as LtHashKernel
}
