import { readdirSync } from 'node:fs'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { BLOB_PROTOCOL, decodeBlobFrame, encodeBlobFrame } from '../../../src/core/blobs/blob-wire.js'
import { CHUNK_SIZE } from '../../../src/core/blobs/blob-store.js'
import type { NodeEvent } from '../../../src/core/node/events.js'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { sha256 } from '../../../src/core/primitives/hash.js'
import { memberBesideContext, stopNetworkedNodes } from '../../helpers/networked-node.js'
import { ensureBuilt, kvStoreWasm } from '../runtime/fixtures.js'

/**
 * JoinContext without the application, in process: two MeroNodes over the in-memory network; the
 * joiner gets the key, then the app over /mero/blob/1.0.0, installs it as `app install` does and
 * runs it. A server that sends corrupt bytes leaves nothing behind.
 */
beforeAll(() => ensureBuilt(), 120_000)
afterEach(stopNetworkedNodes)

async function setup() {
  const { hub, providers, a, c, app, groupId, contextId } = await memberBesideContext()
  await a.node.contexts.execute(contextId, 'set', { key: 'k', value: 'from a' })
  const events: NodeEvent[] = []
  c.node.events.on((e) => events.push(e))
  return { hub, providers, a, c, app, groupId, contextId, events }
}

describe('JoinContext fetches the application from a peer', () => {
  it('installs the app it lacks from the peer that gave the key, and runs it', async () => {
    const { a, c, app, groupId, contextId, events, providers } = await setup()
    expect(c.node.applications.list()).toEqual([])
    // the holder announced its application in the DHT
    expect(providers.records.get(fromBase58(app.applicationId).toString('hex'))).toEqual(new Set([a.network.peerId]))
    await c.node.contextReplicator!.join(contextId)
    const installed = c.node.applications.require(fromBase58(app.applicationId))
    expect(installed).toMatchObject({ applicationId: app.applicationId, size: app.size, source: `peer:${a.network.peerId}`, abi: app.abi })
    expect(events.find((e) => e.type === 'application.fetched')).toMatchObject({ applicationId: app.applicationId, groupId: groupId.toString('hex'), peerId: a.network.peerId, via: 'peer', size: app.size })
    expect(c.node.blobs.get(fromBase58(app.applicationId))?.holders).toEqual([`app:${app.applicationId}`])
    expect(c.node.blobProviders!.stats.fetched).toBe(1)
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'k' })).result).toBe('from a')
    // and now C provides it too
    expect(providers.records.get(fromBase58(app.applicationId).toString('hex'))).toEqual(new Set([a.network.peerId, c.network.peerId]))
  })

  it('a node that deletes the application stops announcing it; the holder that keeps it still does', async () => {
    const { a, c, app, contextId, providers } = await setup()
    const appId = fromBase58(app.applicationId)
    await c.node.contextReplicator!.join(contextId)
    expect(providers.records.get(appId.toString('hex'))).toEqual(new Set([a.network.peerId, c.network.peerId]))
    c.node.contexts.delete(contextId)
    c.node.applications.uninstall(appId)
    expect(c.node.blobs.get(appId)).toBeUndefined()
    await vi.waitFor(() => expect(providers.records.get(appId.toString('hex'))).toEqual(new Set([a.network.peerId])), { timeout: 2_000, interval: 10 })
    expect(c.node.blobProviders!.stats.withdrawn).toBe(1)
    // a later join announces it again
    await c.node.contextReplicator!.join(contextId)
    await vi.waitFor(() => expect(providers.records.get(appId.toString('hex'))).toEqual(new Set([a.network.peerId, c.network.peerId])), { timeout: 2_000, interval: 10 })
  })

  it('a peer serving corrupt bytes: the join fails, nothing is stored (no app, no context, no key); a later join installs it', async () => {
    const { a, c, app, groupId, contextId, events } = await setup()
    const appId = fromBase58(app.applicationId)
    const bytes = kvStoreWasm()
    // A's blob server turns malicious: right chunk list, one byte flipped in the content
    a.network.peer.handle(BLOB_PROTOCOL, (ch) => {
      void (async () => {
        decodeBlobFrame(await ch.receive(2_000))
        await ch.send(encodeBlobFrame({ type: 'Challenge', nonce: Buffer.alloc(32, 1) }))
        decodeBlobFrame(await ch.receive(2_000))
        const chunks = Array.from({ length: Math.ceil(bytes.length / CHUNK_SIZE) }, (_, i) => Buffer.from(bytes.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)))
        await ch.send(encodeBlobFrame({ type: 'BlobInfo', size: bytes.length, chunks: chunks.map((x) => sha256(x)) }))
        chunks[0]![chunks[0]!.length - 1]! ^= 1
        for (const [index, data] of chunks.entries()) await ch.send(encodeBlobFrame({ type: 'BlobChunk', index, data }))
      })().catch(() => undefined)
    })
    await expect(c.node.contextReplicator!.join(contextId)).rejects.toMatchObject({ kind: 'BlobNotFound', message: expect.stringMatching(/does not match its hash/) })
    expect(c.node.applications.list()).toEqual([])
    // nor the context: a context without its application would be one the node cannot run
    expect(c.node.contexts.get(contextId)).toBeUndefined()
    expect(c.node.groups.keyAt(groupId, contextId.toString('hex')).status).toBe('missing')
    expect(c.node.blobs.list()).toEqual([])
    expect(readdirSync(c.blobsDir, { recursive: true }).filter((f) => String(f).length > 60)).toEqual([])
    expect(events.some((e) => e.type === 'application.fetched')).toBe(false)
    // A serves honestly again: joining again installs it
    a.node.blobProviders!.start()
    await c.node.contextReplicator!.join(contextId)
    expect(c.node.applications.get(appId)).toBeDefined()
    expect((await c.node.contexts.execute(contextId, 'get', { key: 'k' })).result).toBe('from a')
  })
})
