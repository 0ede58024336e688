import sodium from 'sodium-native'
import { MeroError } from '../primitives/errors.js'
import type { Column } from './columns.js'

/**
 * Encryption at rest (opt-in): the values of the store's sensitive columns and the blob chunk
 * files, each sealed on its own with XChaCha20-Poly1305 (IETF) under the node's 32-byte store key
 * and a random 24-byte nonce. A sealed value is
 *
 *   version (1 byte, 0x01) ‖ nonce (24) ‖ ciphertext ‖ tag (16)      (41 bytes more than the value)
 *
 * and its associated data binds it to where it lives: the column's name and the row's key (a
 * blob chunk: its SHA-256). A value copied onto another key or column, a flipped bit, a cut
 * value all fail authentication: StoreCorrupted, never garbage. Keys of rows stay in clear
 * (ordered scans need them), and so do the sizes and counts of values.
 */
export const STORE_KEY_BYTES = 32
export const SEALED_VERSION = 0x01
const NONCE = 24
const TAG = 16
export const SEALED_OVERHEAD = 1 + NONCE + TAG

/**
 * The columns whose values are sealed. The others hold what their keys already show or nothing
 * secret: `meta` (the schema version and this encryption record), `deltaDepth` (empty values),
 * `stateIndex` (a child's id, under a key that names it already), `alias` (an alias's target,
 * whose name is the key), `peers` (listen addresses any peer is told) and `default` (unused).
 */
export const SEALED_COLUMNS: ReadonlySet<Column> = new Set<Column>([
  'groupOps',
  'groupMeta',
  'invitation',
  'context',
  'contextKeys',
  'keys',
  'state',
  'private',
  'delta',
  'application',
  'instrumented',
  'blob',
])

const KEY_ID_LABEL = Buffer.from('mero store key id v1')
const CHUNK_LABEL = Buffer.from('mero blob chunk v1\0')

export class StoreCipher {
  private readonly key: Buffer
  /** A keyed BLAKE2b-128 of a fixed label, hex: names the key without revealing it. */
  readonly keyId: string
  /** `mero store v1\0<column>\0`, per column: the start of a value's associated data. */
  private readonly prefixes = new Map<string, Buffer>()
  private ad = Buffer.alloc(256)

  constructor(key: Uint8Array) {
    if (key.length !== STORE_KEY_BYTES) throw new MeroError('InvalidInput', `a store key is ${STORE_KEY_BYTES} bytes, not ${key.length}`)
    this.key = Buffer.from(key)
    this.keyId = storeKeyId(key)
  }

  /** Whether `column`'s values are sealed. */
  seals(column: Column): boolean {
    return SEALED_COLUMNS.has(column)
  }

  /** The sealed form of `value`, stored at `key` of `column`. */
  seal(column: string, key: Uint8Array, value: Uint8Array): Buffer {
    return this.sealWith(this.associated(column, key), value)
  }

  /** The value sealed at `key` of `column`; StoreCorrupted when it does not authenticate there. */
  open(column: string, key: Uint8Array, sealed: Uint8Array, location: string): Buffer {
    const value = this.openWith(this.associated(column, key), sealed)
    if (value === undefined) throw corrupted(location, `the value at key ${hexKey(key)} of column ${column}`, sealed)
    return value
  }

  /** Whether `sealed` authenticates at `key` of `column` (a migration skips what is sealed already). */
  isSealed(column: string, key: Uint8Array, sealed: Uint8Array): boolean {
    return this.openWith(this.associated(column, key), sealed) !== undefined
  }

  /** A blob chunk file's sealed content; `id` is the SHA-256 of the plain chunk (its file name). */
  sealChunk(id: Uint8Array, chunk: Uint8Array): Buffer {
    return this.sealWith(this.chunkAd(id), chunk)
  }

  openChunk(id: Uint8Array, sealed: Uint8Array, file: string): Buffer {
    const chunk = this.openWith(this.chunkAd(id), sealed)
    if (chunk === undefined) throw corrupted(file, 'the blob chunk file', sealed)
    return chunk
  }

  private sealWith(ad: Buffer, value: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(SEALED_OVERHEAD + value.length)
    out[0] = SEALED_VERSION
    const nonce = out.subarray(1, 1 + NONCE)
    sodium.randombytes_buf(nonce)
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out.subarray(1 + NONCE), value, ad, null, nonce, this.key)
    return out
  }

  private openWith(ad: Buffer, sealed: Uint8Array): Buffer | undefined {
    if (sealed.length < SEALED_OVERHEAD || sealed[0] !== SEALED_VERSION) return undefined
    const out = Buffer.allocUnsafe(sealed.length - SEALED_OVERHEAD)
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed.subarray(1 + NONCE), ad, sealed.subarray(1, 1 + NONCE), this.key)
    } catch {
      return undefined
    }
    return out
  }

  /** The associated data of a row, built in one reused buffer (no allocation per value). */
  private associated(column: string, key: Uint8Array): Buffer {
    let prefix = this.prefixes.get(column)
    if (!prefix) this.prefixes.set(column, (prefix = Buffer.from(`mero store v1\0${column}\0`)))
    const length = prefix.length + key.length
    if (this.ad.length < length) this.ad = Buffer.alloc(Math.max(length, this.ad.length * 2))
    prefix.copy(this.ad, 0)
    this.ad.set(key, prefix.length)
    return this.ad.subarray(0, length)
  }

  private chunkAd(id: Uint8Array): Buffer {
    return Buffer.concat([CHUNK_LABEL, id])
  }
}

/** The key id of a store key (keyed BLAKE2b-128 of a fixed label), hex. */
export function storeKeyId(key: Uint8Array): string {
  const out = Buffer.alloc(16)
  sodium.crypto_generichash(out, KEY_ID_LABEL, key)
  return out.toString('hex')
}

/** A fresh random store key. */
export function generateStoreKey(): Buffer {
  const key = Buffer.alloc(STORE_KEY_BYTES)
  sodium.randombytes_buf(key)
  return key
}

function corrupted(where: string, what: string, sealed: Uint8Array): MeroError {
  const reason = sealed.length < SEALED_OVERHEAD ? 'it is shorter than a sealed value' : sealed[0] !== SEALED_VERSION ? `it starts with 0x${(sealed[0] ?? 0).toString(16).padStart(2, '0')}, not a sealed value's version byte` : 'it does not authenticate under the store key at this place (altered, truncated or moved)'
  return new MeroError('StoreCorrupted', `${what} in ${where} cannot be decrypted: ${reason}. Restore a backup (\`meroctl node restore\`), or make the node again and re-join its groups`, { reason: 'decryption' })
}

function hexKey(key: Uint8Array): string {
  const hex = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
  return hex.length > 80 ? `${hex.slice(0, 80)}…` : hex
}
