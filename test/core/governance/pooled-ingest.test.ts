import { afterAll, describe, expect, it } from 'vitest'
import { VerifierPool } from '../../../src/core/crypto/verifier-pool.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { fixture, keys, raw, viewOf } from './helpers.js'

describe('ingest with signatures verified on the worker pool', () => {
  const pool = new VerifierPool(2)
  afterAll(async () => {
    await pool.close()
  })

  it('applies what verifies, reports a forged op as invalid, and reaches the same state as the inline path', async () => {
    const f = fixture()
    const ops = [f.genesis]
    for (let i = 0; i < 80; i++) ops.push(raw(f.groupId, keys.owner, [ops.at(-1)!], BigInt(i + 2), { kind: 'GroupAliasSet', alias: `a${i}` }))
    const payloads = ops.map((o) => Buffer.from(o.bytes))
    const forged = Buffer.from(payloads[40]!)
    forged[forged.length - 3]! ^= 0xff
    const batch = [...payloads.slice(0, 40), forged, ...payloads.slice(40)]

    pool.warm() // as a long catch-up does: the batch goes to the workers
    const pooled = new GroupStore()
    const results = await pooled.ingestVerified(batch, pool)
    expect(pool.stats).toEqual({ inline: 0, onWorkers: batch.length })
    expect(results[40]).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/signature/) })
    expect(results.filter((r) => r.status === 'applied')).toHaveLength(ops.length)

    const inline = new GroupStore()
    inline.ingest(payloads)
    expect(viewOf(pooled, f.groupId)).toEqual(viewOf(inline, f.groupId))
  })
})
