import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { MeroError } from '../primitives/errors.js'
import type { Host } from './host.js'
import type { ContentRouting } from './transport.js'

/** Content routing through kad-dht: which peers hold a 32-byte content id (a blob id). */
export class Routing implements ContentRouting {
  constructor(private readonly host: Host) {}

  /** Announces in the DHT that this node holds the content with this 32-byte id (e.g. a blob id). */
  async provide(contentId: Uint8Array, timeoutMs = 10_000): Promise<void> {
    const cid = contentCid(contentId)
    try {
      await this.host.libp2p.contentRouting.provide(cid, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.host.lifetime]) })
    } catch (e) {
      throw new MeroError('Unavailable', `cannot announce ${Buffer.from(contentId).toString('hex')} in the DHT: ${(e as Error).message}`)
    }
  }

  /**
   * Stops announcing the content: this node's provider record for it goes, and the DHT's
   * periodic re-announcement skips it. Records other peers stored expire on their own.
   */
  async withdraw(contentId: Uint8Array, timeoutMs = 10_000): Promise<void> {
    const cid = contentCid(contentId)
    try {
      await this.host.libp2p.contentRouting.cancelReprovide(cid, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.host.lifetime]) })
    } catch (e) {
      throw new MeroError('Unavailable', `cannot withdraw ${Buffer.from(contentId).toString('hex')} from the DHT: ${(e as Error).message}`)
    }
  }

  /**
   * Peers that announced the content (this node excluded), with their addresses, found through
   * the DHT within `timeoutMs`; at most `limit`. An empty list when none was found in time.
   */
  async findProviders(contentId: Uint8Array, options: { timeoutMs?: number; limit?: number } = {}): Promise<{ peerId: string; addresses: string[] }[]> {
    const cid = contentCid(contentId)
    const limit = options.limit ?? 8
    const found = new Map<string, string[]>()
    const ctrl = new AbortController()
    const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? 5_000), this.host.lifetime, ctrl.signal])
    try {
      for await (const p of this.host.libp2p.contentRouting.findProviders(cid, { signal })) {
        const id = p.id.toString()
        if (id === this.host.peerId) continue
        const addresses = p.multiaddrs.map((a) => a.toString())
        found.set(id, [...new Set([...(found.get(id) ?? []), ...addresses])])
        if (found.size >= limit) break
      }
    } catch (e) {
      if (!signal.aborted) throw new MeroError('Unavailable', `the DHT lookup failed: ${(e as Error).message}`)
    } finally {
      ctrl.abort()
    }
    return [...found].map(([peerId, addresses]) => ({ peerId, addresses }))
  }
}

/** The CID under which content is announced: raw codec, the 32-byte id as a SHA-256 digest. */
function contentCid(contentId: Uint8Array): CID {
  if (!(contentId instanceof Uint8Array) || contentId.byteLength !== 32) throw new MeroError('InvalidInput', 'a content id is 32 bytes')
  return CID.createV1(0x55, createDigest(0x12, contentId))
}
