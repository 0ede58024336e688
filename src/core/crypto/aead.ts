import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto'
import { MeroError } from '../primitives/errors.js'

const NONCE = 12
const TAG = 16

/**
 * Random nonces drawn from a buffer filled by the CSPRNG a few dozen at a time: one call into
 * OpenSSL's RNG per nonce cost more than the rest of sealing a small delta on a quiet daemon.
 * Each nonce is used once; a used slice is never handed out again.
 */
const pool = Buffer.alloc(NONCE * 64)
let poolAt = pool.length

function nextNonce(out: Buffer): void {
  if (poolAt === pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  pool.copy(out, 0, poolAt, poolAt + NONCE)
  poolAt += NONCE
}

/** AES-256-GCM: output is nonce(12) ‖ ciphertext ‖ tag(16). */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  if (key.length !== 32) throw new MeroError('InvalidInput', 'an AES-256 key is 32 bytes')
  const out = Buffer.allocUnsafe(NONCE + plaintext.length + TAG)
  const nonce = out.subarray(0, NONCE)
  nextNonce(nonce)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  if (aad) cipher.setAAD(aad)
  let at = NONCE + cipher.update(plaintext).copy(out, NONCE)
  at += cipher.final().copy(out, at) // GCM: empty
  cipher.getAuthTag().copy(out, at)
  return out
}

/** Undefined when the ciphertext is malformed or does not authenticate under this key. */
export function open(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Buffer | undefined {
  if (key.length !== 32 || sealed.length < NONCE + TAG) return undefined
  try {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, NONCE))
    if (aad) decipher.setAAD(aad)
    decipher.setAuthTag(buf.subarray(buf.length - TAG))
    const plain = decipher.update(buf.subarray(NONCE, buf.length - TAG))
    decipher.final() // throws when the tag does not authenticate; GCM adds no bytes here
    return plain
  } catch {
    return undefined
  }
}
