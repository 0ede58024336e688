import { describe, expect, it } from 'vitest'
import { peerIdFromPublicKey as libp2pPeerId } from '@libp2p/peer-id'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
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

  it('remembers recent base58 ids without sharing buffers or hiding errors', () => {
    const b = Buffer.alloc(32, 7)
    const text = toBase58(b)
    expect(toBase58(b)).toBe(text)
    const first = fromBase58(text, 'x', 32)
    first.fill(0) // a caller changing what it got changes nothing for the next one
    expect(fromBase58(text, 'x', 32)).toEqual(b)
    expect(fromBase58(text, 'x', 32)).not.toBe(fromBase58(text, 'x', 32))
    // a remembered id still has its length checked for each caller
    expect(() => fromBase58(text, 'application id', 16)).toThrow(/application id '.*' must be 16 bytes/)
    expect(() => fromBase58('0OIl', 'identity')).toThrow(/not valid base58/)
    expect(() => fromBase58('0OIl', 'identity')).toThrow(/not valid base58/)
    // the same bytes from another buffer (an offset view) encode the same
    const wide = Buffer.concat([Buffer.alloc(3), b])
    expect(toBase58(wide.subarray(3))).toBe(text)
  })

  it('validates aliases', () => {
    expect(validateAlias('team.a_b-1')).toBe('team.a_b-1')
    expect(() => validateAlias('has space')).toThrow(/alias 'has space' is invalid/)
    expect(() => validateAlias('x'.repeat(51))).toThrow(/invalid/)
    let thrown: unknown
    try {
      validateAlias('')
    } catch (e) {
      thrown = e
    }
    expect(isMeroError(thrown, 'InvalidInput')).toBe(true)
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

  it('matches RFC 8032 (test 2) and interoperates with OpenSSL signatures and keys', () => {
    const seed = Buffer.from('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 'hex')
    const pair = keyPairFromSeed(seed)
    expect(pair.publicKey.toString('hex')).toBe('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c')
    const sig = sign(seed, Buffer.from([0x72]))
    expect(sig.toString('hex')).toBe('92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00')
    // ops signed by earlier builds (node:crypto) still verify, and ours verify there
    const openssl = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
    const msg = Buffer.from('an op body')
    expect(verify(pair.publicKey, msg, nodeSign(null, msg, openssl))).toBe(true)
    expect(nodeVerify(null, msg, createPublicKey(openssl), sign(seed, msg))).toBe(true)
    expect(() => sign(Buffer.alloc(31), msg)).toThrow(/32 bytes/)
  })

  it('derives the same peer id as libp2p', async () => {
    const pair = generateKeyPair()
    // the daemon's libp2p key is made from the same seed
    expect(Buffer.from((await generateKeyPairFromSeed('Ed25519', pair.privateKey)).publicKey.raw)).toEqual(pair.publicKey)
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

  it('never gives two seals the same nonce, across refills of its nonce pool', () => {
    const key = Buffer.alloc(32, 7)
    const nonces = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const sealed = seal(key, Buffer.from(`m${i}`), Buffer.from('aad'))
      nonces.add(sealed.subarray(0, 12).toString('hex'))
      expect(open(key, sealed, Buffer.from('aad'))?.toString()).toBe(`m${i}`)
      if (i === 0) expect(open(key, sealed, Buffer.from('other'))).toBeUndefined()
    }
    expect(nonces.size).toBe(1000)
  })

  it('opens a sealed message that sits inside a larger buffer, and leaves it as it was', () => {
    const key = Buffer.alloc(32, 9)
    const sealed = seal(key, Buffer.from('inside'))
    const outer = Buffer.concat([Buffer.from('head'), sealed, Buffer.from('tail')])
    const view = new Uint8Array(outer.buffer, outer.byteOffset + 4, sealed.length)
    expect(open(key, view)?.toString()).toBe('inside')
    expect(Buffer.from(view).equals(sealed)).toBe(true)
  })
})
