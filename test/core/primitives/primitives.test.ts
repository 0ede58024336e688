import { describe, expect, it } from 'vitest'
import { peerIdFromPublicKey as libp2pPeerId } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { generateKeyPair, keyPairFromSeed, sign, verify } from '../../../src/core/crypto/ed25519.js'
import { open, seal } from '../../../src/core/crypto/aead.js'
import { fromBase58, fromHex, toBase58, toHex } from '../../../src/core/primitives/encoding.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'
import { peerIdFromPublicKey, publicKeyFromPeerId, validateAlias } from '../../../src/core/primitives/ids.js'

describe('encodings', () => {
  it('round-trips base58 and hex and names what is wrong', () => {
    const b = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
    expect(fromBase58(toBase58(b), 'x', 32)).toEqual(b)
    expect(fromHex(toHex(b), 'x', 32)).toEqual(b)
    expect(() => fromHex('zz', 'group id')).toThrow(/group id 'zz' is not valid hex/)
    expect(() => fromBase58('0OIl', 'identity')).toThrow(/identity/)
    expect(() => fromHex('00', 'group id', 32)).toThrow(/64 hex characters/)
  })

  it('validates aliases', () => {
    expect(validateAlias('team.a_b-1')).toBe('team.a_b-1')
    expect(() => validateAlias('has space')).toThrow(/alias 'has space' is invalid/)
    expect(() => validateAlias('x'.repeat(51))).toThrow(/invalid/)
    try {
      validateAlias('')
    } catch (e) {
      expect(isMeroError(e, 'InvalidInput')).toBe(true)
    }
  })
})

describe('ed25519', () => {
  it('signs and verifies; rejects tampering and malformed keys', () => {
    const pair = generateKeyPair()
    const msg = Buffer.from('hello')
    const sig = sign(pair.privateKey, msg)
    expect(verify(pair.publicKey, msg, sig)).toBe(true)
    expect(verify(pair.publicKey, Buffer.from('hellp'), sig)).toBe(false)
    const bad = Buffer.from(sig)
    bad[0]! ^= 1
    expect(verify(pair.publicKey, msg, bad)).toBe(false)
    expect(verify(Buffer.alloc(31), msg, sig)).toBe(false)
    expect(keyPairFromSeed(pair.privateKey).publicKey).toEqual(pair.publicKey)
  })

  it('derives the same peer id as libp2p', () => {
    const pair = generateKeyPair()
    const ours = peerIdFromPublicKey(pair.publicKey)
    expect(ours).toBe(libp2pPeerId(publicKeyFromRaw(pair.publicKey)).toString())
    expect(ours.startsWith('12D3KooW')).toBe(true)
    expect(publicKeyFromPeerId(ours)).toEqual(pair.publicKey)
    expect(publicKeyFromPeerId('garbage')).toBeUndefined()
  })
})

describe('aead', () => {
  it('seals and opens; a wrong key or a flipped bit fails', () => {
    const key = Buffer.alloc(32, 7)
    const sealed = seal(key, Buffer.from('secret'))
    expect(open(key, sealed)?.toString()).toBe('secret')
    expect(open(Buffer.alloc(32, 8), sealed)).toBeUndefined()
    sealed[sealed.length - 1]! ^= 1
    expect(open(key, sealed)).toBeUndefined()
    expect(open(key, Buffer.alloc(3))).toBeUndefined()
  })
})
