import { describe, expect, it } from 'vitest'
import '../../../src/core/network/shim.js'

describe('Promise.withResolvers shim (Node 20 lacks it; libp2p 3 calls it)', () => {
  it('is installed and behaves like the standard one', async () => {
    const P = Promise as unknown as { withResolvers<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } }
    expect(typeof P.withResolvers).toBe('function')
    const ok = P.withResolvers<number>()
    ok.resolve(7)
    await expect(ok.promise).resolves.toBe(7)
    const bad = P.withResolvers<number>()
    bad.reject(new Error('no'))
    await expect(bad.promise).rejects.toThrow('no')
  })
})
