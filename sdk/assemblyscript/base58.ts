// Base58 (the Bitcoin alphabet), as mero shows ids: context, application, identity and blob ids.
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

export function toBase58(data: ArrayBuffer): string {
  const bytes = Uint8Array.wrap(data)
  let zeros = 0
  while (zeros < bytes.length && bytes[zeros] == 0) zeros++
  // base-256 to base-58, most significant digit last
  const digits = new Array<i32>()
  for (let i = zeros; i < bytes.length; i++) {
    let carry = <i32>bytes[i]
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j] << 8
      digits[j] = carry % 58
      carry = carry / 58
    }
    while (carry > 0) {
      digits.push(carry % 58)
      carry = carry / 58
    }
  }
  let out = ""
  for (let i = 0; i < zeros; i++) out += "1"
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET.charAt(digits[i])
  return out
}

/** The bytes, or null when `text` is not base58. */
export function fromBase58(text: string): ArrayBuffer | null {
  let zeros = 0
  while (zeros < text.length && text.charCodeAt(zeros) == 0x31) zeros++
  const bytes = new Array<i32>() // least significant first
  for (let i = zeros; i < text.length; i++) {
    const v = ALPHABET.indexOf(text.charAt(i))
    if (v < 0) return null
    let carry = v
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j] * 58
      bytes[j] = carry & 0xff
      carry >>= 8
    }
    while (carry > 0) {
      bytes.push(carry & 0xff)
      carry >>= 8
    }
  }
  const out = new Uint8Array(zeros + bytes.length)
  for (let i = 0; i < bytes.length; i++) out[zeros + i] = <u8>bytes[bytes.length - 1 - i]
  return out.buffer
}
