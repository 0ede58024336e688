import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BlobStore, CHUNK_SIZE } from '../../../src/core/blobs/blob-store.js'
import { fromBase58, toBase58 } from '../../../src/core/primitives/encoding.js'
import { Store } from '../../../src/core/store/store.js'

async function* pieces(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

describe('BlobStore', () => {
  let dir: string
  let store: Store
  let blobs: BlobStore
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mero-blob-'))
    store = await Store.open(join(dir, 'data'))
    blobs = new BlobStore(store, join(dir, 'blobs'))
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const chunkFiles = () => readdirSync(join(dir, 'blobs'), { recursive: true }).filter((f) => String(f).length > 60)

  it('stores content in 1 MiB chunks under its SHA-256, whatever the input piece sizes', async () => {
    const content = randomBytes(CHUNK_SIZE * 2 + 12345)
    const meta = await blobs.add(pieces(content, 70_001))
    expect(meta.blobId).toBe(toBase58(createHash('sha256').update(content).digest()))
    expect(meta.size).toBe(content.length)
    expect(meta.chunks).toHaveLength(3)
    expect((await blobs.readAll(fromBase58(meta.blobId))).equals(content)).toBe(true)
    expect(chunkFiles()).toHaveLength(3)
  })

  it('dedupes identical content and chunks; keeps a blob while it has a holder', async () => {
    const content = randomBytes(CHUNK_SIZE + 1)
    const a = await blobs.add(content, 'user')
    const b = await blobs.add(pieces(content, 999), 'app:x')
    expect(b.blobId).toBe(a.blobId)
    expect(blobs.get(fromBase58(a.blobId))!.holders).toEqual(['user', 'app:x'])
    expect(blobs.release(fromBase58(a.blobId), 'user')).toEqual(['app:x'])
    expect(blobs.has(fromBase58(a.blobId))).toBe(true)
    expect(blobs.release(fromBase58(a.blobId), 'app:x')).toEqual([])
    expect(blobs.has(fromBase58(a.blobId))).toBe(false)
    expect(chunkFiles()).toHaveLength(0)
  })

  it('sweeps chunk files and temporary files no blob references, once old enough, a few folders a call', async () => {
    const kept = await blobs.add(randomBytes(CHUNK_SIZE + 10))
    // what a crash leaves: a chunk written but never recorded, and an interrupted write
    const lost = createHash('sha256').update('lost').digest('hex')
    writeFileSync(join(dir, 'blobs', kept.chunks[0]!.slice(0, 2), lost), 'lost chunk')
    writeFileSync(join(dir, 'blobs', kept.chunks[0]!.slice(0, 2), `${kept.chunks[0]}.123.tmp`), 'partial')
    const files = () => readdirSync(join(dir, 'blobs'), { recursive: true }).map(String).filter((f) => f.length > 60).sort()
    expect(files()).toHaveLength(4)
    // too young: an add in progress writes its chunks before it records them
    expect(blobs.sweepOrphans({ minAgeMs: 60_000 }).deleted).toBe(0)
    const later = Date.now() + 120_000
    expect(blobs.sweepOrphans({ minAgeMs: 60_000, now: later }).deleted).toBe(2)
    expect(files()).toEqual(kept.chunks.map((c) => join(c.slice(0, 2), c)).sort())
    expect((await blobs.readAll(fromBase58(kept.blobId))).length).toBe(CHUNK_SIZE + 10)
    // one folder a call: the folders are visited in turn
    const other = createHash('sha256').update('other').digest('hex')
    for (const folder of new Set([...kept.chunks.map((c) => c.slice(0, 2))])) writeFileSync(join(dir, 'blobs', folder, other), 'x')
    const folders = new Set(kept.chunks.map((c) => c.slice(0, 2))).size
    let swept = 0
    for (let i = 0; i < folders; i++) {
      const n = blobs.sweepOrphans({ folders: 1, now: later }).deleted
      expect(n).toBeLessThanOrEqual(1)
      swept += n
    }
    expect(swept).toBe(folders)
  })

  it('keeps a chunk shared by two blobs until both are gone', async () => {
    const shared = randomBytes(CHUNK_SIZE)
    const one = await blobs.add(Buffer.concat([shared, Buffer.from('one')]))
    const two = await blobs.add(Buffer.concat([shared, Buffer.from('two')]))
    expect(chunkFiles()).toHaveLength(3)
    blobs.release(fromBase58(one.blobId), 'user')
    expect(chunkFiles()).toHaveLength(2)
    expect((await blobs.readAll(fromBase58(two.blobId))).subarray(0, CHUNK_SIZE).equals(shared)).toBe(true)
  })

  it('detects a corrupted chunk on read', async () => {
    const meta = await blobs.add(Buffer.from('hello world'))
    const hex = meta.chunks[0]!
    writeFileSync(join(dir, 'blobs', hex.slice(0, 2), hex), 'tampered')
    await expect(blobs.readAll(fromBase58(meta.blobId))).rejects.toThrow(/corrupt/)
  })

  it('refuses content over the size limit and leaves nothing behind', async () => {
    await expect(blobs.add(pieces(randomBytes(CHUNK_SIZE * 2), 4096), 'user', CHUNK_SIZE + 10)).rejects.toThrow(/larger than/)
    expect(blobs.list()).toEqual([])
    expect(chunkFiles()).toHaveLength(0)
  })

  it('names a missing blob', async () => {
    await expect(blobs.readAll(Buffer.alloc(32))).rejects.toMatchObject({ kind: 'BlobNotFound' })
    expect(existsSync(join(dir, 'blobs'))).toBe(true)
  })
})
