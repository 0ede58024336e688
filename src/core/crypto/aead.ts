import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { MeroError } from '../primitives/errors.js'

/** AES-256-GCM: output is nonce(12) ‖ ciphertext ‖ tag(16). */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  if (key.length !== 32) throw new MeroError('InvalidInput', 'an AES-256 key is 32 bytes')
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  if (aad) cipher.setAAD(aad)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([nonce, body, cipher.getAuthTag()])
}

/** Undefined when the ciphertext is malformed or does not authenticate under this key. */
export function open(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Buffer | undefined {
  if (key.length !== 32 || sealed.length < 28) return undefined
  try {
    const buf = Buffer.from(sealed)
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12))
    if (aad) decipher.setAAD(aad)
    decipher.setAuthTag(buf.subarray(buf.length - 16))
    return Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()])
  } catch {
    return undefined
  }
}
