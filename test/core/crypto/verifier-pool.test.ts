import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair, sign, verify } from '../../../src/core/crypto/ed25519.js'
import { COLD_INLINE_BELOW, VerifierPool, type VerifyJob } from '../../../src/core/crypto/verifier-pool.js'

const pools: VerifierPool[] = []
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close()
})

function jobs(n: number): VerifyJob[] {
  const k = generateKeyPair()
  return Array.from({ length: n }, (_, i) => {
    const message = Buffer.from(`message ${i}`)
    const signature = sign(k.privateKey, message)
    if (i % 7 === 3) signature[5]! ^= 1 // every seventh is forged
    return { publicKey: k.publicKey, message, signature }
  })
}
const inline = (j: VerifyJob) => verify(j.publicKey, j.message, j.signature)

describe('VerifierPool', () => {
  it('warm() starts the workers; they stop when idle and start again for a large batch, with the same verdicts', async () => {
    const pool = new VerifierPool(2, 200)
    pools.push(pool)
    expect(pool.running).toBe(0)
    pool.warm()
    expect(pool.running).toBe(2)
    const batch = jobs(100)
    const expected = batch.map(inline)
    expect(expected.filter((ok) => !ok)).toHaveLength(14)
    expect(await pool.verify(batch, inline)).toEqual(expected)
    await new Promise((r) => setTimeout(r, 600))
    expect(pool.running).toBe(0)
    // cold, a batch below COLD_INLINE_BELOW is verified inline: no worker starts for it
    expect(await pool.verify(batch, inline)).toEqual(expected)
    expect(pool.running).toBe(0)
    const large = jobs(COLD_INLINE_BELOW)
    expect(await pool.verify(large, inline)).toEqual(large.map(inline))
    expect(pool.running).toBe(2)
  })

  it('keeps its workers while batches keep coming', async () => {
    const pool = new VerifierPool(2, 300)
    pools.push(pool)
    pool.warm()
    const batch = jobs(40)
    for (let i = 0; i < 5; i++) {
      await pool.verify(batch, inline)
      await new Promise((r) => setTimeout(r, 150))
      expect(pool.running).toBe(2)
    }
  })
})
