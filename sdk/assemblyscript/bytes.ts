// Growable byte buffers over raw memory, and JSON written straight into one. Apps build with the
// stub runtime (no garbage collector: nothing allocated during a call is freed before it ends),
// so output is built in one buffer that doubles, never by concatenating strings (which keeps
// every intermediate string: a listing of n entries cost O(n²) memory that way).
import { panic, valueReturnRaw } from "./host"

/** A growable byte buffer in linear memory. */
export class Bytes {
  ptr: usize
  len: usize = 0
  cap: usize

  constructor(capacity: usize = 64) {
    this.cap = capacity < 16 ? 16 : capacity
    this.ptr = heap.alloc(this.cap)
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: usize): void {
    const need = this.len + extra
    if (need <= this.cap) return
    let cap = this.cap << 1
    if (cap < need) cap = need
    this.ptr = heap.realloc(this.ptr, cap)
    this.cap = cap
  }

  clear(): void { this.len = 0 }

  byte(b: u8): void {
    this.reserve(1)
    store<u8>(this.ptr + this.len, b)
    this.len++
  }

  append(src: usize, n: usize): void {
    this.reserve(n)
    memory.copy(this.ptr + this.len, src, n)
    this.len += n
  }

  /** Appends a string's UTF-8 bytes (no intermediate buffer). */
  utf8(s: string): void {
    const n = <usize>String.UTF8.byteLength(s)
    this.reserve(n)
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.ptr + this.len)
    this.len += n
  }

  /** An ASCII literal (punctuation, keywords). */
  ascii(s: string): void {
    this.reserve(<usize>s.length)
    for (let i = 0; i < s.length; i++) store<u8>(this.ptr + this.len + <usize>i, <u8>s.charCodeAt(i))
    this.len += <usize>s.length
  }

  toString(): string { return String.UTF8.decodeUnsafe(this.ptr, this.len) }
}

// scratch for number digits (static: nothing allocated per number)
const DIGITS: usize = memory.data(20)
const HEX_DIGITS: usize = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66])
// the character after the backslash for each byte below 0x60 that JSON escapes ('u': \u00XX)
const ESCAPES: usize = memory.data<u8>([
  0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x62, 0x74, 0x6e, 0x75, 0x66, 0x72, 0x75, 0x75,
  0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75,
  0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
  0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
])

/**
 * JSON written into a Bytes buffer in one pass, commas placed for you:
 * `w.beginObject(); w.key("a"); w.int(1); w.key("b"); w.string("x"); w.endObject()`.
 */
export class JsonWriter {
  out: Bytes
  // per open container (depth 1…64): whether a member was written (then the next one needs a comma)
  private counts: usize = heap.alloc(65)
  private depth: usize = 0
  private afterKey: bool = false

  constructor(capacity: usize = 256) { this.out = new Bytes(capacity) }

  private sep(): void {
    if (this.afterKey) { this.afterKey = false; return }
    if (this.depth == 0) return
    const at = this.counts + this.depth
    if (load<u8>(at) != 0) this.out.byte(0x2c)
    store<u8>(at, 1)
  }

  private open(c: u8): void {
    this.sep()
    if (this.depth >= 64) panic("JSON nested too deeply")
    this.out.byte(c)
    this.depth++
    store<u8>(this.counts + this.depth, 0)
  }

  beginObject(): void { this.open(0x7b) }
  endObject(): void { this.out.byte(0x7d); this.depth-- }
  beginArray(): void { this.open(0x5b) }
  endArray(): void { this.out.byte(0x5d); this.depth-- }

  key(k: string): void {
    this.sep()
    this.quoted(k)
    this.out.byte(0x3a)
    this.afterKey = true
  }

  /** An object key given as UTF-8 bytes. */
  keyUtf8(ptr: usize, len: usize): void {
    this.sep()
    this.quotedUtf8(ptr, len)
    this.out.byte(0x3a)
    this.afterKey = true
  }

  /**
   * An object member `"key":"value"`, both given as UTF-8 bytes: one call and one reservation per
   * member, the cheapest way to list a map (each call and loop costs metering points).
   */
  memberUtf8(kptr: usize, klen: usize, vptr: usize, vlen: usize): void {
    this.sep()
    const out = this.out
    out.reserve((klen + vlen) * 6 + 5)
    let p = writeQuoted(out.ptr + out.len, kptr, klen)
    store<u8>(p, 0x3a)
    p = writeQuoted(p + 1, vptr, vlen)
    out.len = p - out.ptr
  }

  string(s: string): void { this.sep(); this.quoted(s) }
  /** A string value given as UTF-8 bytes (a stored value, copied and escaped). */
  stringUtf8(ptr: usize, len: usize): void { this.sep(); this.quotedUtf8(ptr, len) }
  nullable(s: string | null): void { if (s === null) this.null(); else this.string(s!) }
  null(): void { this.sep(); this.out.ascii("null") }
  bool(b: bool): void { this.sep(); this.out.ascii(b ? "true" : "false") }
  /** Already-encoded JSON. */
  raw(json: string): void { this.sep(); this.out.utf8(json) }
  /** Already-encoded JSON given as UTF-8 bytes (a stored JSON value). */
  rawUtf8(ptr: usize, len: usize): void { this.sep(); this.out.append(ptr, len) }

  int(n: i64): void {
    this.sep()
    if (n < 0) {
      this.out.byte(0x2d)
      // i64.MIN has no positive counterpart: its digits as an unsigned value
      this.digits(n == i64.MIN_VALUE ? <u64>n : <u64>(-n))
    } else this.digits(<u64>n)
  }

  uint(n: u64): void { this.sep(); this.digits(n) }

  private digits(n: u64): void {
    let i: usize = 20
    do {
      i--
      store<u8>(DIGITS + i, <u8>(0x30 + <u32>(n % 10)))
      n /= 10
    } while (n != 0)
    this.out.append(DIGITS + i, 20 - i)
  }

  // Metering charges a function its body and a loop its whole body on every iteration (both arms
  // of an `if` included), so the common case, a string with nothing to escape, is found by tight
  // loops and copied at once; only a string with something to escape enters the loop that
  // escapes (before, with the escaping inside the one loop, a 10-byte key cost ~600 points).
  private quoted(s: string): void {
    const base = changetype<usize>(s)
    const n = s.length
    let i = 0
    while (i < n) {
      const c = load<u16>(base + (<usize>i << 1))
      if (c < 0x20 || c == 0x22 || c == 0x5c) break
      i++
    }
    this.out.byte(0x22)
    this.units(s, 0, i)
    if (i < n) this.quotedTail(s, i)
    this.out.byte(0x22)
  }

  /** From the first unit to escape (at `i`) to the end of `s`. */
  private quotedTail(s: string, i: i32): void {
    const base = changetype<usize>(s)
    const n = s.length
    while (i < n) {
      this.out.reserve(6)
      this.out.len = writeEscape(this.out.ptr + this.out.len, <u8>load<u16>(base + (<usize>i << 1))) - this.out.ptr
      let j = i + 1
      while (j < n) {
        const c = load<u16>(base + (<usize>j << 1))
        if (c < 0x20 || c == 0x22 || c == 0x5c) break
        j++
      }
      this.units(s, i + 1, j)
      i = j
    }
  }

  /** UTF-16 units [from, to) of `s` as UTF-8. */
  private units(s: string, from: i32, to: i32): void {
    if (to <= from) return
    this.out.reserve(<usize>(to - from) * 3)
    this.out.len += String.UTF8.encodeUnsafe(changetype<usize>(s) + (<usize>from << 1), to - from, this.out.ptr + this.out.len)
  }

  private quotedUtf8(ptr: usize, len: usize): void {
    const out = this.out
    out.reserve(len * 6 + 2)
    out.len = writeQuoted(out.ptr + out.len, ptr, len) - out.ptr
  }

  toString(): string { return this.out.toString() }
}

/** Flags (0x80 in a byte's place) the bytes of `x` JSON must escape: below 0x20, `"` and `\\`. */
// @ts-ignore: decorator
@inline function specials(x: u64): u64 {
  const q = x ^ 0x2222222222222222
  const b = x ^ 0x5c5c5c5c5c5c5c5c
  return ((x - 0x2020202020202020) & ~x | (q - 0x0101010101010101) & ~q | (b - 0x0101010101010101) & ~b) & 0x8080808080808080
}

/**
 * Writes `len` bytes of UTF-8 at `src` as a quoted JSON string at `p` (room for len * 6 + 2 bytes
 * must be reserved) and returns the end. The scan for the next byte to escape takes eight bytes a
 * step in a loop kept tiny (metering charges a loop's whole body per iteration); the rest runs
 * once per string and once per escape.
 */
function writeQuoted(p: usize, src: usize, len: usize): usize {
  store<u8>(p, 0x22)
  let i: usize = 0
  while (i + 8 <= len && specials(load<u64>(src + i)) == 0) i += 8
  i = firstSpecial(src, i, len)
  memory.copy(p + 1, src, i)
  p += 1 + i
  if (i < len) p = writeEscapedRest(p, src, i, len)
  store<u8>(p, 0x22)
  return p + 1
}

/** The rest of a string from its first byte to escape (at `i`): its loop runs once per escape. */
function writeEscapedRest(p: usize, src: usize, i: usize, len: usize): usize {
  while (i < len) {
    p = writeEscape(p, load<u8>(src + i))
    const from = i + 1
    i = from
    while (i + 8 <= len && specials(load<u64>(src + i)) == 0) i += 8
    i = firstSpecial(src, i, len)
    memory.copy(p, src + from, i - from)
    p += i - from
  }
  return p
}

/**
 * The first byte at or after `i` (where fewer than eight bytes, or a word holding one, remain)
 * JSON must escape, or `len`. The lowest flagged byte of a word is exact (the bit trick's false
 * positives only sit above a real one). A partial word is read whole with its extra bytes masked
 * to 'A', unless that would read past the memory's end.
 */
function firstSpecial(src: usize, i: usize, len: usize): usize {
  if (i >= len) return len
  const left = len - i
  let x: u64
  if (left >= 8) x = load<u64>(src + i)
  else if (src + i + 8 <= <usize>memory.size() << 16) {
    const mask = (<u64>1 << (<u64>left << 3)) - 1
    x = (load<u64>(src + i) & mask) | (0x4141414141414141 & ~mask)
  } else return firstSpecialBytewise(src, i, len)
  const f = specials(x)
  if (f != 0) return i + <usize>(ctz(f) >> 3)
  return left > 8 ? firstSpecialBytewise(src, i + 8, len) : len
}

function firstSpecialBytewise(src: usize, i: usize, len: usize): usize {
  for (; i < len; i++) {
    const c = load<u8>(src + i)
    if (c < 0x20 || c == 0x22 || c == 0x5c) return i
  }
  return len
}

/** Writes the escape of a byte JSON must escape at `p`; returns the end. */
function writeEscape(p: usize, c: u8): usize {
  const e = load<u8>(ESCAPES + <usize>c)
  store<u8>(p, 0x5c)
  store<u8>(p, e, 1)
  if (e != 0x75) return p + 2
  store<u16>(p, 0x3030, 2) // "00"
  store<u8>(p, load<u8>(HEX_DIGITS + <usize>(c >> 4)), 4)
  store<u8>(p, load<u8>(HEX_DIGITS + <usize>(c & 15)), 5)
  return p + 6
}

/** Returns the writer's JSON as the method's Ok value (no copy). */
export function returnJsonWriter(w: JsonWriter): void {
  valueReturnRaw(0, w.out.ptr, w.out.len)
}
