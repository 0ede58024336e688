import type { ContentRouting, NodeNetwork } from '../../src/core/network/transport.js'
import type { MemoryHub, MemoryPeer } from './memory-network.js'

/**
 * A MemoryPeer as a whole node's network (lifecycle and peer management are no-ops), with an
 * in-memory provider table standing in for the DHT, so that a MeroNode runs in process.
 */
export class MemoryProviders {
  readonly records = new Map<string, Set<string>>()
  /** provide() fails while false (a DHT without peers). */
  reachable = true

  routing(peerId: string): ContentRouting {
    return {
      provide: async (id) => {
        if (!this.reachable) throw new Error('no DHT peer to store the record')
        const k = Buffer.from(id).toString('hex')
        if (!this.records.has(k)) this.records.set(k, new Set())
        this.records.get(k)!.add(peerId)
      },
      withdraw: async (id) => {
        this.records.get(Buffer.from(id).toString('hex'))?.delete(peerId)
      },
      findProviders: async (id) => [...(this.records.get(Buffer.from(id).toString('hex')) ?? [])].filter((p) => p !== peerId).map((p) => ({ peerId: p, addresses: [] })),
    }
  }
}

export function memoryNodeNetwork(hub: MemoryHub, peerId: string, providers?: MemoryProviders): NodeNetwork & { peer: MemoryPeer } {
  const peer = hub.peer(peerId)
  return Object.assign(peer, {
    peer,
    routing: providers?.routing(peerId),
    start: async () => undefined,
    stop: async () => undefined,
    listenAddresses: () => [],
    connect: async () => {
      throw new Error('memory peers are always connected')
    },
    peers: () => peer.connectedPeers().map((p) => ({ peerId: p, addresses: [] })),
    onPeer: () => () => undefined,
  })
}
