import type { Store } from '../store/store.js'

/**
 * Peers this node has met, with their listen addresses (direct ones first, then those through
 * relays), kept across restarts so that a node that was stopped finds its groups' peers again
 * without a bootstrap list.
 */
export interface PeerRecord {
  peerId: string
  addresses: string[]
  lastSeen: number
}

const MAX_ADDRESSES = 16

export class PeerBook {
  constructor(private readonly store: Store) {}

  remember(peerId: string, addresses: string[]): void {
    // direct addresses first; relayed ones too (a node behind a NAT is reachable only so)
    const usable = [...new Set([...addresses.filter((a) => !a.includes('/p2p-circuit')), ...addresses.filter((a) => a.includes('/p2p-circuit'))])].slice(0, MAX_ADDRESSES)
    if (!usable.length) return
    const record: PeerRecord = { peerId, addresses: usable, lastSeen: Date.now() }
    this.store.put('peers', Buffer.from(peerId), Buffer.from(JSON.stringify(record)))
  }

  list(): PeerRecord[] {
    return this.store.scan('peers').map(([, v]) => JSON.parse(v.toString('utf8')) as PeerRecord)
  }
}
