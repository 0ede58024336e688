import bs58 from 'bs58'
import { MeroError } from './errors.js'

/**
 * Base58 conversions cost ~4.6 µs each (the alphabet is not a power of two, so bs58 does long
 * division), and a node converts the same few ids (its contexts, applications, identities)
 * several times per call and per received delta: recent ones are remembered. Only id-sized
 * values are; a memo is cleared when full.
 */
const MEMO_MAX_BYTES = 64
const MEMO_ENTRIES = 4096
const decoded = new Map<string, Buffer>()
const encoded = new Map<string, string>()

function remember<V>(memo: Map<string, V>, key: string, value: V): V {
  if (memo.size >= MEMO_ENTRIES) memo.clear()
  memo.set(key, value)
  return value
}

/** base58 (Bitcoin alphabet) for public keys, context, application and blob ids. */
export function toBase58(bytes: Uint8Array): string {
  if (bytes.byteLength > MEMO_MAX_BYTES) return bs58.encode(bytes)
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  return encoded.get(key) ?? remember(encoded, key, bs58.encode(bytes))
}

export function fromBase58(text: string, what = 'value', expectedLength?: number): Buffer {
  let bytes: Uint8Array | undefined = decoded.get(text)
  if (!bytes) {
    try {
      bytes = bs58.decode(text)
    } catch {
      throw new MeroError('InvalidInput', `${what} '${abbreviate(text)}' is not valid base58`)
    }
    if (bytes.length <= MEMO_MAX_BYTES) remember(decoded, text, Buffer.from(bytes))
  }
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new MeroError('InvalidInput', `${what} '${abbreviate(text)}' must be ${expectedLength} bytes in base58, got ${bytes.length}`)
  }
  // a copy: callers own what they are given
  return Buffer.from(bytes)
}

/** lowercase hex for group ids and op ids. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

const HEX = /^[0-9a-fA-F]*$/

export function fromHex(text: string, what = 'value', expectedLength?: number): Buffer {
  if (!HEX.test(text) || text.length % 2 !== 0) {
    throw new MeroError('InvalidInput', `${what} '${abbreviate(text)}' is not valid hex`)
  }
  const bytes = Buffer.from(text, 'hex')
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new MeroError('InvalidInput', `${what} must be ${expectedLength * 2} hex characters, got ${text.length}`)
  }
  return bytes
}

export function isHex32(text: string): boolean {
  return text.length === 64 && HEX.test(text)
}

export function isBase58Id32(text: string): boolean {
  if (text.length < 32 || text.length > 44) return false
  try {
    return bs58.decode(text).length === 32
  } catch {
    return false
  }
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

export function fromBase64Url(text: string, what = 'value'): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new MeroError('InvalidInput', `${what} is not valid base64url`)
  }
  return Buffer.from(text, 'base64url')
}

export function abbreviate(text: string, max = 24): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
