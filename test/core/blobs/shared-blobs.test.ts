import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import type { NodeEvent } from '../../../src/core/node/events.js'
import { fromBase58, toBase58 } from '../../../src/core/primitives/encoding.js'
import { buildBundle } from '../../../src/core/packages/bundle.js'
import { packageApplicationId } from '../../../src/core/packages/manifest.js'
import { MemoryHub } from '../../helpers/memory-network.js'
import { MemoryProviders } from '../../helpers/memory-node-network.js'
import { networkedNode, stopNetworkedNodes } from '../../helpers/networked-node.js'
import { ensureBuilt, fixture } from '../runtime/fixtures.js'
import { ROOT } from '../../helpers/harness.js'

/**
 * Blobs over /mero/blob/1.0.0 beyond a development module, in process: a package joiners get as
 * its signed bundle, and files an app shares with its context (file-share), which members who
 * joined the context fetch and nobody else gets.
 */
beforeAll(() => ensureBuilt(), 120_000)
afterEach(stopNetworkedNodes)

const fileShare = () => readFileSync(join(ROOT, 'apps/file-share/build/file-share.wasm'))

async function threeNodes(appBytes: { bundle?: Buffer; wasm?: Buffer }) {
  const hub = new MemoryHub()
  const providers = new MemoryProviders()
  const [a, b, c] = [await networkedNode(hub, providers), await networkedNode(hub, providers), await networkedNode(hub, providers)]
  const app = appBytes.bundle ? await a.node.applications.installBundle(appBytes.bundle) : await a.node.applications.install(appBytes.wasm!)
  const groupId = a.node.createGroup()
  for (const x of [b, c]) await a.node.issueGroupOp(groupId, { kind: 'MemberAdded', member: x.node.identity.publicKey, role: 'member' })
  const contextId = (await a.node.contexts.create(groupId, fromBase58(app.applicationId), {})).contextId
  for (const x of [b, c]) x.node.groups.ingest(a.node.groups.getOps(groupId, a.node.groups.ops(groupId).map((o) => o.opId)))
  return { a, b, c, app, groupId, contextId }
}

describe('blobs beyond modules', () => {
  it('a joiner without the application gets the package as its signed bundle and runs it', async () => {
    const signer = generateKeyPair()
    const { b, app, contextId } = await threeNodes({ bundle: buildBundle({ package: 'org.example.files', version: '2.1.0', wasm: fileShare() }, signer) })
    expect(app.applicationId).toBe(toBase58(packageApplicationId('org.example.files', signer.publicKey)))
    const events: NodeEvent[] = []
    b.node.events.on((e) => events.push(e))
    await b.node.contextReplicator!.join(contextId)
    expect(b.node.applications.require(fromBase58(app.applicationId))).toMatchObject({ kind: 'package', package: 'org.example.files', version: '2.1.0', moduleId: app.moduleId, bundleId: app.bundleId })
    expect(events.find((e) => e.type === 'application.fetched')).toMatchObject({ applicationId: app.applicationId })
    expect((await b.node.contexts.execute(contextId, 'count', {})).result).toBe(0)
  })

  it('a file an app shares with its context: members who joined fetch it; one who did not is refused', async () => {
    const { a, b, c, contextId } = await threeNodes({ wasm: fileShare() })
    await b.node.contextReplicator!.join(contextId)
    const content = Buffer.alloc(2 * 1024 * 1024 + 17, 3)
    const blob = await a.node.blobs.add(content)
    await a.node.contexts.execute(contextId, 'upload_file', { name: 'big.bin', blob_id: blob.blobId, size: content.length, mime_type: 'application/octet-stream' })
    expect(a.node.blobs.get(fromBase58(blob.blobId))?.holders).toEqual(['user', `ctx:${toBase58(contextId)}`])
    const started = Date.now()
    await b.node.sharedBlob(fromBase58(blob.blobId), contextId)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect((await b.node.blobs.readAll(fromBase58(blob.blobId))).equals(content)).toBe(true)
    expect(b.node.blobs.get(fromBase58(blob.blobId))?.holders).toEqual([`ctx:${toBase58(contextId)}`])
    // C is a member of the group but has not joined the context: refused everywhere
    await expect(c.node.blobProviders!.fetch(fromBase58(blob.blobId), a.node.groups.groupIds()[0]!, [a.network.peerId, b.network.peerId], 1 << 24)).rejects.toMatchObject({ kind: 'BlobNotFound', message: expect.stringMatching(/nor shared in a context of it the requester joined/) })
    // a blob no app shared is not served to anyone
    const mine = await a.node.blobs.add(Buffer.from('private notes'))
    await expect(b.node.sharedBlob(fromBase58(mine.blobId), contextId)).rejects.toMatchObject({ kind: 'BlobNotFound' })
    // deleting the context lets go of what it shared
    b.node.contexts.delete(contextId)
    expect(b.node.blobs.get(fromBase58(blob.blobId))).toBeUndefined()
  })
})
