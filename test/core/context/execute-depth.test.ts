import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MeroNode } from '../../../src/core/node/node.js'
import { ensureBuilt } from '../runtime/fixtures.js'
import { authored, closeNodes, newNode, sharedContext } from './helpers.js'

/**
 * Execute remembers the depth of the delta it committed last, so that it need not read it back
 * while that delta is still the context's only head. Every stored record must still carry
 * depth = 1 + the largest parent depth, also after remote deltas moved the heads.
 */
afterEach(closeNodes)

/** Checks every record of the node's log: depth = 1 + max(parent depths), 0 without parents. */
function checkDepths(n: MeroNode, contextId: Buffer): number {
  let max = 0
  for (const [k] of n.store.scanPrefix('delta', contextId)) {
    const h = n.contexts.log.header(contextId, k.subarray(32))!
    const expected = h.parents.length === 0 ? 0 : 1 + Math.max(...h.parents.map((p) => n.contexts.log.header(contextId, p)!.depth))
    expect(h.depth, `depth of ${k.subarray(32).toString('hex')}`).toBe(expected)
    max = Math.max(max, h.depth)
  }
  return max
}

describe('execute: delta depths', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('local chains, then a chain extended by a peer, then local again', async () => {
    const a = await newNode()
    const b = await newNode()
    const { contextId } = await sharedContext(a, b)

    for (let i = 0; i < 3; i++) await a.contexts.execute(contextId, 'set', { key: `a${i}`, value: 'x' })
    const afterA = checkDepths(a, contextId)
    b.remoteDeltas.receive(contextId, authored(a, contextId, a))
    for (let i = 0; i < 5; i++) await b.contexts.execute(contextId, 'set', { key: `b${i}`, value: 'y' })
    expect(checkDepths(b, contextId)).toBe(afterA + 5)

    // b's chain extends a's: a's only head becomes b's last delta, deeper than a's own last one
    a.remoteDeltas.receive(contextId, authored(b, contextId, b))
    expect(a.contexts.require(contextId).heads.map((h) => h.toString('hex'))).toEqual(b.contexts.require(contextId).heads.map((h) => h.toString('hex')))
    await a.contexts.execute(contextId, 'set', { key: 'a-again', value: 'z' })
    expect(checkDepths(a, contextId)).toBe(afterA + 6)

    // concurrent writes: two heads on a, then a local delta on top of both
    await a.contexts.execute(contextId, 'set', { key: 'a-concurrent', value: '1' })
    await b.contexts.execute(contextId, 'set', { key: 'b-concurrent', value: '2' })
    a.remoteDeltas.receive(contextId, authored(b, contextId, b))
    expect(a.contexts.require(contextId).heads).toHaveLength(2)
    await a.contexts.execute(contextId, 'set', { key: 'a-merge', value: '3' })
    expect(checkDepths(a, contextId)).toBe(afterA + 8)
    expect(a.contexts.require(contextId).heads).toHaveLength(1)

    // two heads where the first (heads are sorted) is a's own last delta and the other is deeper:
    // the depth must come from the deeper one. Which head sorts first is chance, so rounds go
    // on until that case has come up (1 in 2 per round).
    let seen = 0
    for (let round = 0; round < 24 && seen < 2; round++) {
      b.remoteDeltas.receive(contextId, authored(a, contextId, a))
      await a.contexts.execute(contextId, 'set', { key: `a-r${round}`, value: 'l' })
      const local = a.contexts.require(contextId).heads[0]!.toString('hex')
      for (let i = 0; i < 3; i++) await b.contexts.execute(contextId, 'set', { key: `b-r${round}-${i}`, value: 'd' })
      a.remoteDeltas.receive(contextId, authored(b, contextId, b))
      const heads = a.contexts.require(contextId).heads.map((h) => h.toString('hex'))
      expect(heads).toHaveLength(2)
      if (heads[0] === local) seen++
      await a.contexts.execute(contextId, 'set', { key: `a-m${round}`, value: 'm' })
      checkDepths(a, contextId)
    }
    expect(seen).toBe(2)
  }, 60_000)
})
