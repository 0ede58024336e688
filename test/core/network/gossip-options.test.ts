import { describe, expect, it } from 'vitest'
import { DEFAULT_GOSSIP_TUNING, gossipsubOptions, messageIdOf } from '../../../src/core/network/gossip-options.js'
import { createHash } from 'node:crypto'

describe('gossipsub options', () => {
  it('sends IDONTWANT only for messages of 16 KiB or more, unless tuned otherwise', () => {
    expect(DEFAULT_GOSSIP_TUNING.idontwantMinBytes).toBe(16 * 1024)
    expect(gossipsubOptions().idontwantMinDataSize).toBe(16 * 1024)
    expect(gossipsubOptions({ idontwantMinBytes: 1000 }).idontwantMinDataSize).toBe(1000)
    // the other settings the module documents
    const o = gossipsubOptions()
    expect(o).toMatchObject({ floodPublish: true, emitSelf: false, allowPublishToZeroTopicPeers: true, fallbackToFloodsub: false, heartbeatInterval: 500, D: 4, Dlo: 2, Dhi: 8 })
  })

  it('names a message by the SHA-256 of its data, whatever its size', () => {
    for (const n of [0, 100, 255, 256, 5000]) {
      const data = Buffer.alloc(n, 3)
      expect(Buffer.from(messageIdOf(data)).equals(createHash('sha256').update(data).digest())).toBe(true)
    }
  })
})
