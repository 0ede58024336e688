import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BlobStore } from '../../src/core/blobs/blob-store.js'
import { fromBase58 } from '../../src/core/primitives/encoding.js'
import { isMeroError } from '../../src/core/primitives/errors.js'
import { generateStoreKey } from '../../src/core/store/store-cipher.js'
import { Store } from '../../src/core/store/store.js'
import { encryptNodeIfNeeded } from '../../src/daemon/encrypt-node.js'
import { resolveNodeHome, type NodeHome } from '../../src/home/paths.js'
import { filesHolding } from '../helpers/files.js'

const SECRET = 'walrus-umber-5521'

/** An unencrypted node folder with rows in several columns and a two-chunk blob. */
async function plainNode(root: string, name: string): Promise<{ home: NodeHome; blobId: string }> {
  const home = resolveNodeHome(root, name)
  mkdirSync(home.dir, { recursive: true, mode: 0o700 })
  const store = await Store.open(home.data)
  const b = store.batch()
  for (let i = 0; i < 3000; i++) b.put('state', Buffer.from(`entity-${i}`), Buffer.from(`${SECRET}-${i}`))
  b.put('groupOps', Buffer.from('op'), Buffer.from(`${SECRET}-op`)).put('peers', Buffer.from('p'), Buffer.from('addr'))
  b.write()
  const meta = await new BlobStore(store, home.blobs).add(Buffer.from(`${SECRET} `.repeat(90_000)))
  await store.close()
  return { home, blobId: meta.blobId }
}

async function expectReadable(home: NodeHome, key: Buffer, blobId: string): Promise<void> {
  const store = await Store.open(home.data, { key })
  try {
    expect(store.get('state', Buffer.from('entity-2999'))?.toString()).toBe(`${SECRET}-2999`)
    expect(store.get('groupOps', Buffer.from('op'))?.toString()).toBe(`${SECRET}-op`)
    expect(store.scan('state').length).toBe(3000)
    expect((await new BlobStore(store, home.blobs).readAll(fromBase58(blobId))).toString()).toBe(`${SECRET} `.repeat(90_000))
  } finally {
    await store.close()
  }
  expect(filesHolding(SECRET, home.dir)).toEqual([])
  expect(readdirSync(home.dir).sort()).toEqual(['blobs', 'data'])
}

describe('encrypting an existing node (its first start with a store key)', () => {
  let root: string
  const key = generateStoreKey()
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mero-encnode-'))
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))

  it('copies the store and the blob chunks sealed, swaps them in, leaves no plain value behind; a second run does nothing', async () => {
    const { home, blobId } = await plainNode(root, 'n')
    expect(filesHolding(SECRET, home.dir).length).toBeGreaterThan(0)
    const outcome = await encryptNodeIfNeeded(home, { key })
    expect(outcome).toMatchObject({ encrypted: true, chunks: 2 })
    expect(outcome.rows).toBeGreaterThanOrEqual(3002)
    await expectReadable(home, key, blobId)
    expect(await encryptNodeIfNeeded(home, { key })).toEqual({ encrypted: false })
    try {
      await Store.open(home.data)
      throw new Error('opened without its key')
    } catch (e) {
      expect(isMeroError(e, 'StoreKeyMissing')).toBe(true)
    }
  })

  it('without a key, or with an empty store, changes nothing', async () => {
    const { home } = await plainNode(root, 'n')
    expect(await encryptNodeIfNeeded(home, {})).toEqual({ encrypted: false })
    expect(filesHolding(SECRET, home.dir).length).toBeGreaterThan(0)
    const empty = resolveNodeHome(root, 'empty')
    mkdirSync(empty.dir, { recursive: true })
    await (await Store.open(empty.data)).close()
    expect(await encryptNodeIfNeeded(empty, { key })).toEqual({ encrypted: false })
  })

  it('killed while copying: the next start copies again from scratch', async () => {
    const { home, blobId } = await plainNode(root, 'n')
    // what a kill in the copy phase leaves: the journal, a half-made copy
    writeFileSync(join(home.dir, 'encrypting.json'), JSON.stringify({ phase: 'copy' }))
    mkdirSync(`${home.data}.encrypting`)
    writeFileSync(join(`${home.data}.encrypting`, 'CURRENT'), 'garbage')
    mkdirSync(join(`${home.blobs}.encrypting`, 'ab'), { recursive: true })
    expect((await encryptNodeIfNeeded(home, { key })).encrypted).toBe(true)
    await expectReadable(home, key, blobId)
  })

  it('killed while copying, then started without the key: the copy is dropped and the node stays as it was', async () => {
    const { home } = await plainNode(root, 'n')
    writeFileSync(join(home.dir, 'encrypting.json'), JSON.stringify({ phase: 'copy' }))
    mkdirSync(`${home.data}.encrypting`)
    expect(await encryptNodeIfNeeded(home, {})).toEqual({ encrypted: false })
    expect(readdirSync(home.dir).sort()).toEqual(['blobs', 'data'])
    const store = await Store.open(home.data)
    expect(store.get('state', Buffer.from('entity-1'))?.toString()).toBe(`${SECRET}-1`)
    await store.close()
  })

  it('killed in the middle of the swap: the next start finishes it, with or without the key', async () => {
    for (const withKey of [true, false]) {
      const { home, blobId } = await plainNode(root, `n-${withKey}`)
      // the sealed copies, made on a clone of the node
      const clone = resolveNodeHome(root, `clone-${withKey}`)
      cpSync(home.dir, clone.dir, { recursive: true })
      await encryptNodeIfNeeded(clone, { key })
      renameSync(clone.data, `${home.data}.encrypting`)
      renameSync(clone.blobs, `${home.blobs}.encrypting`)
      // the kill: data already moved aside, its copy not yet in place; blobs not started
      writeFileSync(join(home.dir, 'encrypting.json'), JSON.stringify({ phase: 'swap' }))
      renameSync(home.data, `${home.data}.unencrypted`)
      expect(existsSync(home.data)).toBe(false)
      expect((await encryptNodeIfNeeded(home, withKey ? { key } : {})).encrypted).toBe(true)
      await expectReadable(home, key, blobId)
    }
  })
})
