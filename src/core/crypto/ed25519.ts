import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { MeroError } from '../primitives/errors.js'

/**
 * Ed25519 through node:crypto (OpenSSL): raw 32-byte keys wrapped as PKCS8 / SPKI DER.
 * Public key objects are cached: catch-up verifies thousands of ops by a handful of signers.
 */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export interface KeyPair {
  /** 32-byte public key. */
  readonly publicKey: Buffer
  /** 32-byte private seed. */
  readonly privateKey: Buffer
}

export function generateKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  return {
    publicKey: Buffer.from(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)),
    privateKey: Buffer.from(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length)),
  }
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new MeroError('InvalidInput', 'an Ed25519 private key is 32 bytes')
  const key = privateKeyObject(seed)
  const publicKey = Buffer.from(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length))
  return { publicKey, privateKey: Buffer.from(seed) }
}

const privateCache = new Map<string, KeyObject>()
const publicCache = new Map<string, KeyObject>()
const CACHE_LIMIT = 4096

function cached(cache: Map<string, KeyObject>, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const k = Buffer.from(raw).toString('latin1')
  let obj = cache.get(k)
  if (!obj) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string)
    obj = make()
    cache.set(k, obj)
  }
  return obj
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return cached(privateCache, seed, () =>
    createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }),
  )
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return cached(publicCache, publicKey, () =>
    createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' }),
  )
}

export function sign(privateKey: Uint8Array, message: Uint8Array): Buffer {
  return nodeSign(null, message, privateKeyObject(privateKey))
}

/** False for a bad signature or a malformed key; never throws. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return nodeVerify(null, message, publicKeyObject(publicKey), signature)
  } catch {
    return false
  }
}
