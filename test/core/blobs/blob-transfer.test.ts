import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BlobProviders } from '../../../src/core/blobs/blob-providers.js'
import { BlobStore, CHUNK_SIZE } from '../../../src/core/blobs/blob-store.js'
import { fetchBlob, serveBlob, type ServeResult } from '../../../src/core/blobs/blob-transfer.js'
import { BLOB_PROTOCOL, decodeBlobFrame, encodeBlobFrame, MAX_BLOB_FRAME, type BlobFrame } from '../../../src/core/blobs/blob-wire.js'
import { generateKeyPair, type KeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { Store } from '../../../src/core/store/store.js'
import { memberAuth } from '../../../src/core/governance/stream-auth.js'
import type { FrameChannel } from '../../../src/core/network/transport.js'
import { framePair } from '../../helpers/frame-pair.js'
import { MemoryHub } from '../../helpers/memory-network.js'
import { MemoryProviders } from '../../helpers/memory-node-network.js'

/** The blob protocol in process: an honest server over real stores, and hand-written malicious ones. */
const owner = generateKeyPair()
const member = generateKeyPair()
const stranger = generateKeyPair()
/** The serving node's peer id: what a requester's proof names. */
const server = 'the-server'
const sha = (b: Buffer) => createHash('sha256').update(b).digest()

let dir: string
let store: Store
let blobs: BlobStore
let groups: GroupStore
let groupId: Buffer
/** 2.5 MiB of "application" bytes; its id is registered as a context's application. */
let app: Buffer
let appId: Buffer

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mero-blobx-'))
  store = await Store.open(join(dir, 'data'))
  blobs = new BlobStore(store, join(dir, 'blobs'))
  groups = new GroupStore()
  groupId = groups.createGroup(owner).groupId
  groups.issue(groupId, owner, { kind: 'MemberAdded', member: member.publicKey, role: 'member' })
  app = randomBytes(2 * CHUNK_SIZE + CHUNK_SIZE / 2)
  appId = sha(app)
  await blobs.add(app, `app:test`)
  groups.issue(groupId, owner, { kind: 'ContextRegistered', contextId: randomBytes(32), application: appId })
})

afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

function transfer(blobId: Buffer, opts: { key?: KeyPair; group?: Buffer; maxBytes?: number; auth?: ReturnType<typeof memberAuth> } = {}): Promise<[Buffer | MeroError, ServeResult]> {
  const [c, s] = framePair()
  const served = serveBlob(s, { blobs, groups, self: server }, { timeoutMs: 2_000 })
  const fetched = fetchBlob(c, blobId, { groupId: opts.group ?? groupId, auth: opts.auth ?? memberAuth(opts.key ?? member, server), maxBytes: opts.maxBytes ?? 64 * CHUNK_SIZE, timeoutMs: 2_000 }).catch((e: MeroError) => e)
  return Promise.all([fetched, served])
}

/** A server that answers the challenge and then sends whatever `frames` returns. */
function maliciousServer(ch: FrameChannel, frames: () => (BlobFrame | Buffer)[]): void {
  void (async () => {
    decodeBlobFrame(await ch.receive(2_000)) // BlobRequest
    await ch.send(encodeBlobFrame({ type: 'Challenge', nonce: randomBytes(32) }))
    decodeBlobFrame(await ch.receive(2_000)) // Auth
    for (const f of frames()) await ch.send(Buffer.isBuffer(f) ? f : encodeBlobFrame(f))
  })().catch(() => undefined)
}

function fromMalicious(frames: () => (BlobFrame | Buffer)[], maxBytes = 64 * CHUNK_SIZE): Promise<Buffer> {
  const [c, s] = framePair()
  maliciousServer(s, frames)
  return fetchBlob(c, appId, { groupId: groupId, auth: memberAuth(member, server), maxBytes, timeoutMs: 2_000 })
}

const chunksOf = (b: Buffer) => Array.from({ length: Math.ceil(b.length / CHUNK_SIZE) }, (_, i) => b.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE))
const honestFrames = (content: Buffer): BlobFrame[] => {
  const chunks = chunksOf(content)
  return [{ type: 'BlobInfo', size: content.length, chunks: chunks.map(sha) }, ...chunks.map((data, index): BlobFrame => ({ type: 'BlobChunk', index, data: Buffer.from(data) }))]
}

describe('blob transfer protocol', () => {
  it('a member gets an application of its group, chunk by chunk, identical to the original', async () => {
    const [got, served] = await transfer(appId)
    expect(Buffer.isBuffer(got) && got.equals(app)).toBe(true)
    expect(served).toMatchObject({ bytes: app.length })
    expect(served.refused).toBeUndefined()
  })

  it('the requester accepts an honest stream from any server (the control for the faults below)', async () => {
    expect((await fromMalicious(() => honestFrames(app))).equals(app)).toBe(true)
  })

  it('refuses a corrupt chunk, a mislabelled chunk list and content that is not the blob', async () => {
    const flipped = (): BlobFrame[] => {
      const f = honestFrames(app)
      ;(f[2] as { data: Buffer }).data[100]! ^= 1
      return f
    }
    await expect(fromMalicious(flipped)).rejects.toMatchObject({ kind: 'SyncFailed', details: { reason: 'corrupt_chunk' } })
    // the chunk hashes match the chunks, but the content is another blob
    const other = randomBytes(app.length)
    await expect(fromMalicious(() => honestFrames(other))).rejects.toMatchObject({ kind: 'SyncFailed', details: { reason: 'corrupt_blob' } })
    // chunks cut differently from the store's 1 MiB chunking
    const small = [app.subarray(0, 1000), app.subarray(1000)]
    await expect(fromMalicious(() => [{ type: 'BlobInfo', size: app.length, chunks: small.map(sha) }])).rejects.toMatchObject({ kind: 'SyncFailed', details: { reason: 'chunking' } })
    // chunks out of order
    const swapped = (): BlobFrame[] => {
      const f = honestFrames(app)
      return [f[0]!, f[2]!, f[1]!, f[3]!]
    }
    await expect(fromMalicious(swapped)).rejects.toMatchObject({ kind: 'SyncFailed', details: { reason: 'protocol' } })
  })

  it('refuses oversized frames and blobs larger than asked for, on both sides', async () => {
    expect(() => decodeBlobFrame(Buffer.alloc(MAX_BLOB_FRAME + 1))).toThrow(expect.objectContaining({ kind: 'LimitExceeded' }))
    // a server pushing a chunk frame of 2 MiB
    const huge = encodeBlobFrame({ type: 'BlobChunk', index: 0, data: Buffer.alloc(2 * CHUNK_SIZE) })
    await expect(fromMalicious(() => [{ type: 'BlobInfo', size: 2 * CHUNK_SIZE, chunks: [sha(app), sha(app)] }, huge])).rejects.toMatchObject({ kind: 'LimitExceeded' })
    // a server offering more than the requester's limit
    await expect(fromMalicious(() => honestFrames(app), CHUNK_SIZE)).rejects.toMatchObject({ kind: 'LimitExceeded' })
    // an honest server refuses to send more than asked for
    const [got, served] = await transfer(appId, { maxBytes: CHUNK_SIZE })
    expect(got).toMatchObject({ kind: 'LimitExceeded', message: expect.stringMatching(/more than the 1048576 asked for/) })
    expect(served.refused).toBe('LimitExceeded')
    // and answers an oversized request frame with a typed refusal
    const [c, s] = framePair()
    const serving = serveBlob(s, { blobs, groups, self: server }, { timeoutMs: 2_000 })
    await c.send(Buffer.alloc(MAX_BLOB_FRAME + 10))
    expect(decodeBlobFrame(await c.receive(2_000))).toMatchObject({ type: 'Refused', kind: 'LimitExceeded' })
    expect((await serving).refused).toBe('LimitExceeded')
  })

  it('refuses strangers, forged signatures, unknown groups, blobs the group does not use and blobs it lacks', async () => {
    const refusedAs = async (r: Promise<[Buffer | MeroError, ServeResult]>, kind: string, reason: RegExp) => {
      const [got, served] = await r
      expect(got).toBeInstanceOf(MeroError)
      expect(got).toMatchObject({ kind, message: expect.stringMatching(reason) })
      expect(served.refused).toBe(kind)
    }
    await refusedAs(transfer(appId, { key: stranger }), 'NotAuthorized', /not a member/)
    await refusedAs(transfer(appId, { auth: (nonce, g) => ({ ...memberAuth(member, server)(nonce, g), signature: Buffer.alloc(64, 7) }) }), 'NotAuthorized', /signature does not verify/)
    await refusedAs(transfer(appId, { group: Buffer.from('ab'.repeat(32), 'hex') }), 'NotAuthorized', /does not hold the group/)
    // a blob this node holds (e.g. uploaded by its user) that no context of the group runs
    const mine = (await blobs.add(randomBytes(5000), 'user')).blobId
    await refusedAs(transfer(fromBase58(mine)), 'NotAuthorized', /not an application of the group/)
    // an application the group uses that this node does not hold
    const missing = randomBytes(32)
    groups.issue(groupId, owner, { kind: 'ContextRegistered', contextId: randomBytes(32), application: missing })
    await refusedAs(transfer(missing), 'BlobNotFound', /does not hold blob/)
  })

  it('decodes strictly: unknown tags, unknown refusal kinds, truncation and trailing bytes', () => {
    const good = encodeBlobFrame({ type: 'Refused', kind: 'BlobNotFound', reason: 'x' })
    expect(decodeBlobFrame(good)).toEqual({ type: 'Refused', kind: 'BlobNotFound', reason: 'x' })
    expect(() => decodeBlobFrame(Buffer.from([9]))).toThrow(/unknown blob frame tag/)
    const badKind = Buffer.from(good)
    badKind[1] = 200
    expect(() => decodeBlobFrame(badKind)).toThrow(/unknown refusal kind/)
    expect(() => decodeBlobFrame(good.subarray(0, good.length - 1))).toThrow(/truncated/)
    expect(() => decodeBlobFrame(Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/)
  })
})

describe('BlobProviders', () => {
  it('asks the given peers in order, then DHT providers; a corrupt server is skipped', async () => {
    const hub = new MemoryHub()
    const table = new MemoryProviders()
    const make = (id: string) => {
      const peer = hub.peer(id)
      return { peer, providers: new BlobProviders({ blobs, groups, identity: member, network: peer, routing: table.routing(id) }, { timeoutMs: 2_000 }) }
    }
    const requester = make('requester')
    const liar = hub.peer('liar')
    liar.handle(BLOB_PROTOCOL, (ch) => maliciousServer(ch, () => honestFrames(randomBytes(app.length))))
    const honest = make('honest')
    honest.providers.start()
    // only the liar was given; the honest peer is found as a DHT provider
    await honest.providers.announce([appId])
    const got = await requester.providers.fetch(appId, groupId, ['liar'], 64 * CHUNK_SIZE)
    expect(got).toMatchObject({ peerId: 'honest', via: 'dht' })
    expect(got.bytes.equals(app)).toBe(true)
    expect(requester.providers.stats).toMatchObject({ fetched: 1, fetchedBytes: app.length })
    expect(honest.providers.stats).toMatchObject({ served: 1, servedBytes: app.length })
    // given first, the honest peer is asked first
    expect(await requester.providers.fetch(appId, groupId, ['honest', 'liar'], 64 * CHUNK_SIZE)).toMatchObject({ peerId: 'honest', via: 'peer' })
    // nobody honest: a typed failure naming each peer's answer
    table.records.clear()
    await expect(requester.providers.fetch(appId, groupId, ['liar'], 64 * CHUNK_SIZE)).rejects.toMatchObject({ kind: 'BlobNotFound', message: expect.stringMatching(/liar: bad blob transfer/) })
    expect(requester.providers.stats.fetchFailures).toBe(1)
  })

  it('a transfer dropped mid-stream fails when the stream ends (not at its frame timeout), nothing of it is kept, and the next peer gives the blob whole', async () => {
    const hub = new MemoryHub()
    const table = new MemoryProviders()
    // the requester: a node of its own, which holds nothing yet
    const mine = await Store.open(join(dir, 'requester'))
    try {
      const requesterBlobs = new BlobStore(mine, join(dir, 'requester-blobs'))
      // a frame timeout far past the test's own: waiting it out would fail the test
      const requester = new BlobProviders({ blobs: requesterBlobs, groups, identity: member, network: hub.peer('requester'), routing: table.routing('requester') }, { timeoutMs: 600_000 })
      // a peer that sends the blob's description and its first chunk, then goes away
      const dropper = hub.peer('dropper')
      dropper.handle(BLOB_PROTOCOL, (ch) => {
        const [info, first] = honestFrames(app)
        maliciousServer(ch, () => [info!, first!])
        setTimeout(() => ch.close(), 50)
      })
      const honest = new BlobProviders({ blobs, groups, identity: owner, network: hub.peer('honest'), routing: table.routing('honest') }, { timeoutMs: 2_000 })
      honest.start()
      const got = await requester.fetch(appId, groupId, ['dropper', 'honest'], 64 * CHUNK_SIZE)
      expect(got).toMatchObject({ peerId: 'honest', via: 'peer' })
      expect(got.bytes.equals(app)).toBe(true)
      expect(requester.stats).toMatchObject({ fetched: 1, fetchFailures: 0 })
      // fetching verifies and returns bytes: nothing is stored until the caller installs them
      expect(requesterBlobs.list()).toEqual([])
      expect(existsSync(join(dir, 'requester-blobs')) ? readdirSync(join(dir, 'requester-blobs')) : []).toEqual([])
      // only the dropper alone: a typed failure that says what happened
      await expect(requester.fetch(appId, groupId, ['dropper'], 64 * CHUNK_SIZE)).rejects.toMatchObject({ kind: 'BlobNotFound', message: expect.stringMatching(/dropper: /) })
    } finally {
      await mine.close()
    }
  })

  it('keeps announcements that failed (no DHT peer yet) and retries them', async () => {
    const table = new MemoryProviders()
    table.reachable = false
    const providers = new BlobProviders({ blobs, groups, identity: member, network: new MemoryHub().peer('p'), routing: table.routing('p') })
    await providers.announce([appId, randomBytes(32)])
    expect(providers.pendingAnnouncements).toBe(2)
    expect(providers.stats.announceFailures).toBe(1)
    table.reachable = true
    await providers.announcePending()
    expect(providers.pendingAnnouncements).toBe(0)
    expect(table.records.get(appId.toString('hex'))).toEqual(new Set(['p']))
  })
})
