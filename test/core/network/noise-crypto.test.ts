import { defaultCrypto } from '@libp2p/noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { noiseCrypto } from '../../../src/core/network/noise-crypto.js'

const key = Buffer.alloc(32, 5)
const nonce = Buffer.alloc(12, 9)
const ad = Buffer.from('associated')

describe('noise transport cipher (libsodium)', () => {
  it('seals exactly what @libp2p/noise’s default does, and opens its output', () => {
    for (const n of [0, 1, 100, 1199, 1200, 1201, 5000, 65_519]) {
      const pt = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) % 256))
      const mine = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(pt, nonce, ad, key) as Uint8Array)
      const theirs = defaultCrypto.chaCha20Poly1305Encrypt(pt, nonce, ad, key)
      expect(mine.equals(Buffer.from(theirs instanceof Uint8Array ? theirs : theirs.subarray())), `size ${n}`).toBe(true)
      const opened = noiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce, ad, key)
      expect(Buffer.from(opened instanceof Uint8Array ? opened : opened.subarray()).equals(pt)).toBe(true)
    }
  })

  it('takes chunk lists as the transport passes them', () => {
    const list = new Uint8ArrayList(Buffer.from('hello '), Buffer.from('world'))
    const sealed = noiseCrypto.chaCha20Poly1305Encrypt(list, nonce, ad, key) as Uint8Array
    const halves = new Uint8ArrayList(sealed.subarray(0, 5), sealed.subarray(5))
    expect(Buffer.from(noiseCrypto.chaCha20Poly1305Decrypt(halves, nonce, ad, key) as Uint8Array).toString()).toBe('hello world')
  })

  it('refuses tampered, truncated or wrongly keyed ciphertext', () => {
    const sealed = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(Buffer.from('payload'), nonce, ad, key) as Uint8Array)
    const flipped = Buffer.from(sealed)
    flipped[2] ^= 1
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(flipped, nonce, ad, key)).toThrow(/decryption/)
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed.subarray(0, 10), nonce, ad, key)).toThrow(/decryption/)
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, Buffer.from('other'), key)).toThrow(/decryption/)
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, Buffer.alloc(32, 6))).toThrow(/decryption/)
  })
})
