import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import type { ContentRouting } from '../../../src/core/network/transport.js'
import { GroupDiscovery } from '../../../src/core/sync/group-discovery.js'

/** A DHT of provider records in a map, and a network that records what it dials. */
function world(options: { failProvides?: number } = {}) {
  const records = new Map<string, { peerId: string; addresses: string[] }[]>()
  let failures = options.failProvides ?? 0
  const routing: ContentRouting = {
    async provide(id) {
      if (failures > 0) {
        failures--
        throw new Error('no DHT peer')
      }
      const k = Buffer.from(id).toString('hex')
      records.set(k, [...(records.get(k) ?? []), { peerId: 'self', addresses: ['/ip4/10.0.0.1/tcp/1'] }])
    },
    async withdraw() {},
    async findProviders(id, o) {
      return (records.get(Buffer.from(id).toString('hex')) ?? []).slice(0, o?.limit ?? 8)
    },
  }
  const connected = new Set<string>()
  const topic = new Set<string>()
  const dialled: string[] = []
  const network = {
    peerId: 'self',
    async connect(address: string) {
      dialled.push(address)
      const peerId = address.split('/p2p/')[1]!
      connected.add(peerId)
      topic.add(peerId)
      return peerId
    },
    connectedPeers: () => [...connected],
    topicPeers: () => [...topic],
    onPeer: () => () => undefined,
  }
  return { records, routing, network, dialled, connected, topic }
}

describe('group discovery through the DHT', () => {
  it('announces each group of which this node is a member under the hash of its topic, and no other', async () => {
    const key = generateKeyPair()
    const groups = new GroupStore()
    const { groupId } = groups.createGroup(key)
    const { groupId: foreign } = groups.createGroup(generateKeyPair())
    const w = world()
    const d = new GroupDiscovery({ groups, identity: key, network: w.network, routing: w.routing })
    await d.round()
    expect([...w.records.keys()]).toEqual([GroupDiscovery.keyOf(groupId).toString('hex')])
    expect(GroupDiscovery.keyOf(groupId).toString('hex')).not.toBe(GroupDiscovery.keyOf(foreign).toString('hex'))
    expect(d.stats.announced).toBe(1)
    await d.round() // announced once: kad-dht republishes it
    expect(d.stats.announced).toBe(1)
  })

  it('an announcement that failed (no DHT peer yet) is made on a later round', async () => {
    const key = generateKeyPair()
    const groups = new GroupStore()
    groups.createGroup(key)
    const w = world({ failProvides: 1 })
    const d = new GroupDiscovery({ groups, identity: key, network: w.network, routing: w.routing })
    await d.round()
    expect(d.stats).toMatchObject({ announced: 0, announceFailures: 1 })
    await d.round()
    expect(d.stats.announced).toBe(1)
  })

  it('a group short of peers dials its providers not connected, up to the target, and not itself', async () => {
    const key = generateKeyPair()
    const groups = new GroupStore()
    const { groupId } = groups.createGroup(key)
    const w = world()
    const k = GroupDiscovery.keyOf(groupId).toString('hex')
    w.records.set(k, [
      { peerId: 'self', addresses: ['/ip4/10.0.0.1/tcp/1'] },
      { peerId: 'known', addresses: ['/ip4/10.0.0.2/tcp/1'] },
      ...Array.from({ length: 6 }, (_, i) => ({ peerId: `m${i}`, addresses: [`/ip4/10.0.1.${i}/tcp/1`] })),
    ])
    w.connected.add('known')
    w.topic.add('known')
    const d = new GroupDiscovery({ groups, identity: key, network: w.network, routing: w.routing }, { targetPeers: 4 })
    await d.round()
    // one peer present: three more dialled, by their announced address with the peer id
    expect(w.dialled).toEqual(['/ip4/10.0.1.0/tcp/1/p2p/m0', '/ip4/10.0.1.1/tcp/1/p2p/m1', '/ip4/10.0.1.2/tcp/1/p2p/m2'])
    expect(d.stats).toMatchObject({ lookups: 1, dialled: 3, connected: 3 })
    // at the target: no lookup at all
    await d.round()
    expect(d.stats.lookups).toBe(1)
  })
})
