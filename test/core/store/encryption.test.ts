import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BlobStore } from '../../../src/core/blobs/blob-store.js'
import { fromBase58, toBase58 } from '../../../src/core/primitives/encoding.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'
import { copyStore } from '../../../src/core/store/copy.js'
import { ENCRYPTION_FILE } from '../../../src/core/store/encryption-record.js'
import { generateStoreKey, SEALED_OVERHEAD, StoreCipher, storeKeyId } from '../../../src/core/store/store-cipher.js'
import { Store } from '../../../src/core/store/store.js'
import { fileHashes, filesHolding } from '../../helpers/files.js'

const SECRET = 'zebra-quartz-7731-secret'

async function expectKind(p: Promise<unknown> | (() => unknown), kind: string): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    expect(isMeroError(e), String(e)).toBe(true)
    expect((e as { kind: string }).kind).toBe(kind)
    return e as Error
  }
  throw new Error(`expected a ${kind} error`)
}

describe('StoreCipher', () => {
  const cipher = new StoreCipher(generateStoreKey())
  const key = Buffer.from('ctx-1/entity-1')
  const value = Buffer.from(SECRET)

  it('round-trips a value, and a sealed value is not its plain bytes', () => {
    const sealed = cipher.seal('state', key, value)
    expect(sealed.length).toBe(value.length + SEALED_OVERHEAD)
    expect(sealed.includes(value)).toBe(false)
    expect(cipher.open('state', key, sealed, 'here').toString()).toBe(SECRET)
    expect(cipher.open('state', key, cipher.seal('state', key, Buffer.alloc(0)), 'here').length).toBe(0)
  })

  it('refuses a tampered byte, a value moved to another key or column, a truncated value, another key: StoreCorrupted', async () => {
    const sealed = cipher.seal('state', key, value)
    for (let i = 0; i < sealed.length; i += 7) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 0x01
      await expectKind(() => cipher.open('state', key, tampered, 'here'), 'StoreCorrupted')
    }
    await expectKind(() => cipher.open('state', Buffer.from('ctx-1/entity-2'), sealed, 'here'), 'StoreCorrupted')
    await expectKind(() => cipher.open('delta', key, sealed, 'here'), 'StoreCorrupted')
    await expectKind(() => cipher.open('state', key, sealed.subarray(0, sealed.length - 1), 'here'), 'StoreCorrupted')
    await expectKind(() => cipher.open('state', key, sealed.subarray(0, 10), 'here'), 'StoreCorrupted')
    await expectKind(() => new StoreCipher(generateStoreKey()).open('state', key, sealed, 'here'), 'StoreCorrupted')
  })

  it('names a key by a key id that differs between keys and does not contain the key', () => {
    const k = generateStoreKey()
    expect(storeKeyId(k)).toMatch(/^[0-9a-f]{32}$/)
    expect(storeKeyId(k)).toBe(new StoreCipher(k).keyId)
    expect(storeKeyId(generateStoreKey())).not.toBe(storeKeyId(k))
    expect(storeKeyId(k)).not.toContain(k.toString('hex').slice(0, 16))
  })
})

describe('an encrypted Store', () => {
  let dir: string
  let data: string
  let key: Buffer
  let store: Store | undefined
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mero-enc-'))
    data = join(dir, 'data')
    key = generateStoreKey()
    store = await Store.open(data, { key })
  })
  afterEach(async () => {
    await store?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reads back through get, getMany, scan, scanPrefix and iterate, and leaves no plain value in its files', async () => {
    const s = store!
    const b = s.batch()
    for (let i = 0; i < 50; i++) b.put('state', Buffer.from(`k${String(i).padStart(2, '0')}`), Buffer.from(`${SECRET}-${i}`))
    b.put('delta', Buffer.from('d1'), Buffer.from(`${SECRET}-delta`))
    b.write()
    expect(s.get('state', Buffer.from('k07'))?.toString()).toBe(`${SECRET}-7`)
    expect(s.getMany('state', [Buffer.from('k01'), Buffer.from('nope'), Buffer.from('k49')]).map((v) => v?.toString())).toEqual([`${SECRET}-1`, undefined, `${SECRET}-49`])
    expect(s.scan('state', { limit: 2 }).map(([k, v]) => [k.toString(), v.toString()])).toEqual([['k00', `${SECRET}-0`], ['k01', `${SECRET}-1`]])
    expect(s.scanPrefix('state', Buffer.from('k4')).length).toBe(10)
    const seen: string[] = []
    for await (const [, v] of s.iterate('state', { gte: Buffer.from('k45') })) seen.push(v.toString())
    expect(seen).toEqual([45, 46, 47, 48, 49].map((i) => `${SECRET}-${i}`))
    expect(s.has('delta', Buffer.from('d1'))).toBe(true)
    // as stored, the value is sealed
    expect(s.getStored('state', Buffer.from('k07'))!.includes(Buffer.from(SECRET))).toBe(false)
    await s.close()
    store = undefined
    expect(filesHolding(SECRET, data)).toEqual([])
    store = await Store.open(data, { key })
    expect(store.get('delta', Buffer.from('d1'))?.toString()).toBe(`${SECRET}-delta`)
  })

  it('a value swapped onto another key reads as StoreCorrupted, never as the other value', async () => {
    const s = store!
    s.batch().put('state', Buffer.from('a'), Buffer.from('value of a')).put('state', Buffer.from('b'), Buffer.from('value of b')).write()
    s.batch().putStored('state', Buffer.from('b'), s.getStored('state', Buffer.from('a'))!).write()
    expect(s.get('state', Buffer.from('a'))?.toString()).toBe('value of a')
    await expectKind(() => s.get('state', Buffer.from('b')), 'StoreCorrupted')
    await expectKind(() => s.scan('state'), 'StoreCorrupted')
    await expectKind(() => s.getMany('state', [Buffer.from('b')]), 'StoreCorrupted')
  })

  it('refuses to open without its key or with another key, changing no file of the data folder', async () => {
    store!.put('state', Buffer.from('x'), Buffer.from(SECRET))
    await store!.close()
    store = undefined
    const before = fileHashes(data)
    const missing = await expectKind(Store.open(data), 'StoreKeyMissing')
    expect(missing.message).toContain('no store key was given')
    const wrong = await expectKind(Store.open(data, { key: generateStoreKey(), keyWords: { source: 'the key file /k' } }), 'StoreKeyWrong')
    expect(wrong.message).toContain("the key file /k is not this store's key")
    expect(fileHashes(data)).toEqual(before)
    store = await Store.open(data, { key })
    expect(store.get('state', Buffer.from('x'))?.toString()).toBe(SECRET)
  })

  it('refuses without a key even when the encryption file was deleted (the meta row decides)', async () => {
    await store!.close()
    store = undefined
    rmSync(join(data, ENCRYPTION_FILE))
    await expectKind(Store.open(data), 'StoreKeyMissing')
    store = await Store.open(data, { key })
    expect(existsSync(join(data, ENCRYPTION_FILE))).toBe(true)
  })

  it('an unencrypted store with rows is not encrypted by its open: StoreKeyWrong, its rows intact', async () => {
    const plain = join(dir, 'plain')
    const p = await Store.open(plain)
    p.put('state', Buffer.from('x'), Buffer.from('plain value'))
    await p.close()
    const e = await expectKind(Store.open(plain, { key }), 'StoreKeyWrong')
    expect(e.message).toContain('is not encrypted, and a store key was given')
    const again = await Store.open(plain)
    expect(again.get('state', Buffer.from('x'))?.toString()).toBe('plain value')
    await again.close()
  })

  it('a copy (backup) stays encrypted under the same key', async () => {
    store!.put('context', Buffer.from('c'), Buffer.from(SECRET))
    const target = await Store.open(join(dir, 'copy'))
    await copyStore(store!, target)
    await target.close()
    expect(filesHolding(SECRET, join(dir, 'copy'))).toEqual([])
    await expectKind(Store.open(join(dir, 'copy')), 'StoreKeyMissing')
    const reopened = await Store.open(join(dir, 'copy'), { key })
    expect(reopened.get('context', Buffer.from('c'))?.toString()).toBe(SECRET)
    await reopened.close()
  })

  it('blob chunk files are sealed; content reads back; a tampered chunk file is StoreCorrupted', async () => {
    const blobsDir = join(dir, 'blobs')
    const blobs = new BlobStore(store!, blobsDir)
    const content = Buffer.from(`${SECRET} `.repeat(50_000)) // more than one 1 MiB chunk
    const meta = await blobs.add(content)
    expect(meta.chunks.length).toBe(2)
    expect(meta.blobId).toBe(toBase58(createHash('sha256').update(content).digest()))
    expect(filesHolding(SECRET, blobsDir)).toEqual([])
    const id = fromBase58(meta.blobId)
    expect((await blobs.readAll(id)).equals(content)).toBe(true)
    const file = join(blobsDir, meta.chunks[0]!.slice(0, 2), meta.chunks[0]!)
    const bytes = readFileSync(file)
    expect(statSync(file).size).toBe(1024 * 1024 + SEALED_OVERHEAD)
    bytes[100]! ^= 1
    writeFileSync(file, bytes)
    await expectKind(blobs.readAll(id), 'StoreCorrupted')
  })
})
