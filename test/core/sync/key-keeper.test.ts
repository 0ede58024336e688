import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import { MemoryHub } from '../../helpers/memory-network.js'
import { MemoryProviders } from '../../helpers/memory-node-network.js'
import { networkedNode, stopNetworkedNodes } from '../../helpers/networked-node.js'

/** The KeyKeeper of a real node (store, governance, contexts) on the in-memory network. */
afterEach(stopNetworkedNodes)

describe('KeyKeeper', () => {
  it('a burst of ops is checked at most once every 50 ms, not once per op (a check reads every member)', async () => {
    const { node } = await networkedNode(new MemoryHub(), new MemoryProviders())
    const groupId = node.createGroup()
    const keeper = node.net!.keys
    await new Promise((r) => setTimeout(r, 100))
    const before = keeper.stats.checks
    const started = performance.now()
    const N = 300
    for (let i = 0; i < N; i++) await node.issueGroupOp(groupId, { kind: 'MemberAdded', member: generateKeyPair().publicKey, role: 'member' })
    await new Promise((r) => setTimeout(r, 120)) // the last check of the burst
    const elapsed = performance.now() - started
    const checks = keeper.stats.checks - before
    expect(checks).toBeGreaterThanOrEqual(1)
    expect(checks).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 1)
    // the hard case is there: ops came faster than one per 50 ms
    expect(elapsed / N).toBeLessThan(50)
    expect(node.groups.view(groupId).members.length).toBe(N + 1)
  })
})
