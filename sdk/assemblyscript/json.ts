// A small JSON reader and writer: enough for method arguments and results.
import { panic } from "./host"

export const enum JSONKind { Null, Bool, Number, String, Array, Object }

export class JSONValue {
  kind: JSONKind = JSONKind.Null
  bool: bool = false
  num: f64 = 0
  str: string = ""
  items: JSONValue[] = []
  keys: string[] = []

  isNull(): bool { return this.kind == JSONKind.Null }

  /** An object's member, or null when absent (or when this is not an object). */
  get(key: string): JSONValue | null {
    if (this.kind != JSONKind.Object) return null
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.items[i]
    return null
  }

  /** A required string argument; panics with a message naming it otherwise. */
  requireString(key: string): string {
    const v = this.get(key)
    if (v === null || v.kind != JSONKind.String) panic("argument '" + key + "' must be a string")
    return v!.str
  }

  requireNumber(key: string): f64 {
    const v = this.get(key)
    if (v === null || v.kind != JSONKind.Number) panic("argument '" + key + "' must be a number")
    return v!.num
  }

  /** A required non-negative integer argument (a position, a count, an offset); panics naming it otherwise. */
  requireIndex(key: string): i64 {
    const v = this.get(key)
    if (v === null) panic("argument '" + key + "' is required")
    return index(key, v!)
  }

  /** An optional non-negative integer argument: `fallback` when absent or null. */
  optionalIndex(key: string, fallback: i64): i64 {
    const v = this.get(key)
    if (v === null || v.kind == JSONKind.Null) return fallback
    return index(key, v!)
  }

  /** An optional string argument: null when absent or null. */
  optionalString(key: string): string | null {
    const v = this.get(key)
    if (v === null || v.kind == JSONKind.Null) return null
    if (v.kind != JSONKind.String) panic("argument '" + key + "' must be a string")
    return v.str
  }

  /** Panics when the object has a member not in `allowed` (unknown arguments are refused). */
  allowOnly(allowed: string[]): void {
    for (let i = 0; i < this.keys.length; i++) {
      if (!allowed.includes(this.keys[i])) panic("unknown argument '" + this.keys[i] + "'")
    }
  }
}

function index(key: string, v: JSONValue): i64 {
  if (v.kind != JSONKind.Number || v.num < 0 || v.num != Math.floor(v.num) || v.num > 9007199254740991) panic("argument '" + key + "' must be a non-negative integer")
  return <i64>v.num
}

class Parser {
  pos: i32 = 0
  constructor(public s: string) {}

  fail(what: string): void {
    panic("invalid JSON input at offset " + this.pos.toString() + ": " + what)
  }

  ws(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos)
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) this.pos++
      else break
    }
  }

  peek(): i32 { return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1 }

  expect(c: i32): void {
    if (this.peek() != c) this.fail("expected '" + String.fromCharCode(c) + "'")
    this.pos++
  }

  literal(word: string): void {
    if (this.s.substr(this.pos, word.length) != word) this.fail("expected " + word)
    this.pos += word.length
  }

  value(depth: i32): JSONValue {
    if (depth > 64) this.fail("nested too deeply")
    this.ws()
    const v = new JSONValue()
    const c = this.peek()
    if (c == 0x7b /* { */) {
      v.kind = JSONKind.Object
      this.pos++
      this.ws()
      if (this.peek() == 0x7d) { this.pos++; return v }
      while (true) {
        this.ws()
        const key = this.string()
        this.ws()
        this.expect(0x3a /* : */)
        v.keys.push(key)
        v.items.push(this.value(depth + 1))
        this.ws()
        if (this.peek() == 0x2c) { this.pos++; continue }
        this.expect(0x7d)
        return v
      }
    }
    if (c == 0x5b /* [ */) {
      v.kind = JSONKind.Array
      this.pos++
      this.ws()
      if (this.peek() == 0x5d) { this.pos++; return v }
      while (true) {
        v.items.push(this.value(depth + 1))
        this.ws()
        if (this.peek() == 0x2c) { this.pos++; continue }
        this.expect(0x5d)
        return v
      }
    }
    if (c == 0x22) { v.kind = JSONKind.String; v.str = this.string(); return v }
    if (c == 0x74) { this.literal("true"); v.kind = JSONKind.Bool; v.bool = true; return v }
    if (c == 0x66) { this.literal("false"); v.kind = JSONKind.Bool; return v }
    if (c == 0x6e) { this.literal("null"); return v }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = this.pos
      this.pos++
      while (this.pos < this.s.length) {
        const d = this.s.charCodeAt(this.pos)
        if ((d >= 0x30 && d <= 0x39) || d == 0x2e || d == 0x65 || d == 0x45 || d == 0x2b || d == 0x2d) this.pos++
        else break
      }
      v.kind = JSONKind.Number
      v.num = parseFloat(this.s.substring(start, this.pos))
      if (isNaN(v.num)) this.fail("bad number")
      return v
    }
    this.fail("unexpected character")
    return v
  }

  string(): string {
    this.expect(0x22)
    let out = ""
    let start = this.pos
    while (true) {
      if (this.pos >= this.s.length) this.fail("unterminated string")
      const c = this.s.charCodeAt(this.pos)
      if (c == 0x22) {
        out += this.s.substring(start, this.pos)
        this.pos++
        return out
      }
      if (c < 0x20) this.fail("control character in string")
      if (c == 0x5c) {
        out += this.s.substring(start, this.pos)
        this.pos++
        const e = this.peek()
        this.pos++
        if (e == 0x22) out += "\""
        else if (e == 0x5c) out += "\\"
        else if (e == 0x2f) out += "/"
        else if (e == 0x62) out += "\b"
        else if (e == 0x66) out += "\f"
        else if (e == 0x6e) out += "\n"
        else if (e == 0x72) out += "\r"
        else if (e == 0x74) out += "\t"
        else if (e == 0x75) {
          const hex = this.s.substr(this.pos, 4)
          if (hex.length != 4) this.fail("bad \\u escape")
          const code = <i32>parseInt(hex, 16)
          if (isNaN(<f64>parseInt(hex, 16))) this.fail("bad \\u escape")
          // surrogate pairs arrive as two escapes; UTF-16 strings hold them as they are
          out += String.fromCharCode(code)
          this.pos += 4
        } else this.fail("bad escape")
        start = this.pos
        continue
      }
      this.pos++
    }
  }
}

/** Parses a JSON text; panics with the offset of the first error. Empty text parses as null. */
export function parse(text: string): JSONValue {
  const p = new Parser(text)
  p.ws()
  if (p.pos == text.length) return new JSONValue()
  const v = p.value(0)
  p.ws()
  if (p.pos != text.length) p.fail("trailing characters")
  return v
}

const HEX = "0123456789abcdef"

/** A JSON string literal. */
export function str(s: string): string {
  let out = "\""
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c == 0x22 || c == 0x5c || c < 0x20) {
      out += s.substring(start, i)
      if (c == 0x22) out += "\\\""
      else if (c == 0x5c) out += "\\\\"
      else if (c == 0x0a) out += "\\n"
      else if (c == 0x0d) out += "\\r"
      else if (c == 0x09) out += "\\t"
      else out += "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15)
      start = i + 1
    }
  }
  return out + s.substring(start) + "\""
}

/** A JSON object from keys and already-encoded JSON values. */
export function object(keys: string[], values: string[]): string {
  let out = "{"
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ","
    out += str(keys[i]) + ":" + values[i]
  }
  return out + "}"
}

/** A JSON array of already-encoded JSON values. */
export function array(values: string[]): string {
  return "[" + values.join(",") + "]"
}

export function nullable(s: string | null): string {
  return s === null ? "null" : str(s)
}
