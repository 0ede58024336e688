import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair, sign, verify } from '../../../src/core/crypto/ed25519.js'
import { COLD_INLINE_BELOW, INLINE_BELOW, VerifierPool, type VerifyJob } from '../../../src/core/crypto/verifier-pool.js'
import { waitFor } from '../../helpers/harness.js'

const pools: VerifierPool[] = []
afterEach(async () => {
  vi.useRealTimers()
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
/** An inline verifier that must not be called: the batch is the workers' to check. */
const notHere = (): boolean => {
  throw new Error('verified inline, not on a worker')
}

describe('VerifierPool', () => {
  it('warm() starts the workers, which give the same verdicts as inline; idle, they stop', async () => {
    const pool = new VerifierPool(2, 200)
    pools.push(pool)
    expect(pool.running).toBe(0)
    pool.warm()
    expect(pool.running).toBe(2)
    const batch = jobs(100)
    const expected = batch.map(inline)
    expect(expected.filter((ok) => !ok)).toHaveLength(14)
    // the inline verifier throws: every verdict came from a worker
    expect(await pool.verify(batch, notHere)).toEqual(expected)
    expect(pool.stats).toEqual({ inline: 0, onWorkers: 100 })
    await waitFor(() => pool.running === 0, 5_000)
  })

  it('cold, a batch below COLD_INLINE_BELOW is verified inline; a larger one starts the workers', async () => {
    const pool = new VerifierPool(2, 60_000)
    pools.push(pool)
    const batch = jobs(100)
    expect(await pool.verify(batch, inline)).toEqual(batch.map(inline))
    expect(pool.running).toBe(0)
    expect(pool.stats).toEqual({ inline: 100, onWorkers: 0 })
    const large = jobs(COLD_INLINE_BELOW)
    expect(await pool.verify(large, notHere)).toEqual(large.map(inline))
    expect(pool.running).toBe(2)
    expect(pool.stats).toEqual({ inline: 100, onWorkers: COLD_INLINE_BELOW })
    // warm, a tiny batch still stays on this thread (a round trip costs more than it saves)
    const tiny = jobs(INLINE_BELOW - 1)
    expect(await pool.verify(tiny, inline)).toEqual(tiny.map(inline))
    expect(pool.stats.inline).toBe(100 + INLINE_BELOW - 1)
  })

  it('keeps its workers while batches keep coming: each batch puts the idle stop off again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const pool = new VerifierPool(2, 300)
    pools.push(pool)
    pool.warm()
    const batch = jobs(40)
    for (let i = 0; i < 5; i++) {
      await pool.verify(batch, notHere)
      vi.advanceTimersByTime(200) // less than the idle time since the last batch, more in total
      expect(pool.running).toBe(2)
    }
    vi.advanceTimersByTime(150)
    expect(pool.running).toBe(0)
  })
})
