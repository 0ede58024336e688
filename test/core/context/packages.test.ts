import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import { fromBase58, toBase58 } from '../../../src/core/primitives/encoding.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'
import { sha256 } from '../../../src/core/primitives/hash.js'
import { buildBundle } from '../../../src/core/packages/bundle.js'
import { didKey, packageApplicationId } from '../../../src/core/packages/manifest.js'
import { ensureBuilt, fixture, kvStoreWasm } from '../runtime/fixtures.js'
import { closeNodes, newNode } from './helpers.js'

/**
 * Signed packages installed on a node: the application id from package and signer, upgrades in
 * place, what is refused (and that nothing is left behind), and a context that runs the package.
 */
afterEach(closeNodes)
beforeAll(() => ensureBuilt(), 120_000)

const signer = generateKeyPair()
const bundle = (version: string, wasm: Buffer, key = signer) => buildBundle({ package: 'com.example.kv', version, wasm }, key)

describe('packages on a node', () => {
  it('installs a bundle as a package: its id from package and signer, its module and bundle held as blobs; a context runs it', async () => {
    const n = await newNode()
    const meta = await n.applications.installBundle(bundle('1.0.0', kvStoreWasm()), 'kv.mpk')
    const appId = packageApplicationId('com.example.kv', signer.publicKey)
    expect(meta).toMatchObject({ applicationId: toBase58(appId), kind: 'package', package: 'com.example.kv', version: '1.0.0', signer: didKey(signer.publicKey), moduleId: toBase58(sha256(kvStoreWasm())), source: 'kv.mpk' })
    expect(meta.abi?.methods.map((m) => m.name)).toContain('entries')
    expect(n.blobs.list().map((b) => [b.blobId, b.holders])).toEqual(expect.arrayContaining([[meta.moduleId, [`app:${meta.applicationId}`]], [meta.bundleId, [`app:${meta.applicationId}`]]]))
    const groupId = n.createGroup()
    const ctx = (await n.contexts.create(groupId, appId, {})).contextId
    await n.contexts.execute(ctx, 'set', { key: 'k', value: 'v' })
    expect((await n.contexts.execute(ctx, 'get', { key: 'k' })).result).toBe('v')
    // the blob server sends the bundle for the application id (the peer checks its signature)
    expect(n.applications.servedBlobOf(appId)).toEqual(fromBase58(meta.bundleId!, 'bundle id', 32))
  })

  it('a newer version replaces the installed one: same application, the context runs the new module from its next call', async () => {
    const n = await newNode()
    const v1 = await n.applications.installBundle(bundle('1.0.0', kvStoreWasm()))
    const appId = fromBase58(v1.applicationId, 'application id', 32)
    const ctx = (await n.contexts.create(n.createGroup(), appId, {})).contextId
    await n.contexts.execute(ctx, 'set', { key: 'k', value: 'v' })
    const v2 = await n.applications.installBundle(bundle('1.1.0', fixture('as-collections')))
    expect(v2).toMatchObject({ applicationId: v1.applicationId, version: '1.1.0', previousVersions: ['1.0.0'], moduleId: toBase58(sha256(fixture('as-collections'))) })
    // the old module and bundle are no longer held
    expect(n.blobs.get(fromBase58(v1.moduleId!, 'blob', 32))).toBeUndefined()
    expect(n.blobs.get(fromBase58(v1.bundleId!, 'blob', 32))).toBeUndefined()
    await expect(n.contexts.execute(ctx, 'get', { key: 'k' })).rejects.toMatchObject({ kind: 'MethodNotFound' })
    await n.contexts.execute(ctx, 'put', { key: 'a', value: '1' })
    expect((await n.contexts.execute(ctx, 'sorted', {})).result).toMatchObject({ len: 1 })
  })

  it('refuses an older version, and the same version with another module; the same bundle again is a no-op', async () => {
    const n = await newNode()
    const v2 = await n.applications.installBundle(bundle('2.0.0', kvStoreWasm()))
    const blobsBefore = n.blobs.list()
    await expect(n.applications.installBundle(bundle('1.9.9', kvStoreWasm()))).rejects.toMatchObject({ kind: 'Conflict', message: expect.stringMatching(/1.9.9 is older than the installed 2.0.0/) })
    await expect(n.applications.installBundle(bundle('2.0.0', fixture('as-collections')))).rejects.toMatchObject({ kind: 'Conflict', message: expect.stringMatching(/2.0.0 is already installed with another module/) })
    expect(await n.applications.installBundle(bundle('2.0.0', kvStoreWasm()))).toEqual(v2)
    expect(n.blobs.list()).toEqual(blobsBefore)
    // another signer's package of the same name is another application, beside it
    const other = await n.applications.installBundle(bundle('1.0.0', kvStoreWasm(), generateKeyPair()))
    expect(other.applicationId).not.toBe(v2.applicationId)
    expect(n.applications.list()).toHaveLength(2)
  })

  it('a bundle that fails any check, or whose module is not valid wasm, installs nothing', async () => {
    const n = await newNode()
    const good = bundle('1.0.0', kvStoreWasm())
    const flipped = Buffer.from(good)
    flipped[flipped.length - 20]! ^= 0xff // inside the gzip stream: its CRC or the content breaks
    for (const bytes of [flipped, bundle('1.0.0', Buffer.from('not wasm')), Buffer.from('\x1f\x8bnot really gzip')]) {
      const error = await n.applications.installBundle(bytes).catch((e: unknown) => e)
      expect(isMeroError(error, 'InvalidPackage') || isMeroError(error, 'InvalidModule'), String(error)).toBe(true)
    }
    expect(n.applications.list()).toEqual([])
    expect(n.blobs.list()).toEqual([])
  })

  it('uninstalling a package releases its module and bundle', async () => {
    const n = await newNode()
    const meta = await n.applications.installBundle(bundle('1.0.0', kvStoreWasm()))
    n.applications.uninstall(fromBase58(meta.applicationId, 'application id', 32))
    expect(n.blobs.list()).toEqual([])
    // a development install of the same module is its own application, by the module's hash
    const dev = await n.applications.installFromBlob(fromBase58((await n.blobs.add(kvStoreWasm())).blobId, 'blob', 32))
    expect(dev).toMatchObject({ applicationId: toBase58(sha256(kvStoreWasm())), kind: 'development' })
  })

  it('a fetched application must be the one asked for: a bundle of another package is refused', async () => {
    const n = await newNode()
    const wanted = packageApplicationId('com.example.kv', signer.publicKey)
    const stranger = buildBundle({ package: 'com.example.other', version: '1.0.0', wasm: kvStoreWasm() }, signer)
    await expect(n.applications.installFetched(wanted, stranger, 'peer:x')).rejects.toMatchObject({ kind: 'InvalidPackage', message: expect.stringMatching(/not application/) })
    await expect(n.applications.installFetched(wanted, Buffer.from('garbage'), 'peer:x')).rejects.toMatchObject({ kind: 'InvalidPackage' })
    expect(n.applications.list()).toEqual([])
    expect((await n.applications.installFetched(wanted, bundle('1.0.0', kvStoreWasm()), 'peer:x')).applicationId).toBe(toBase58(wanted))
  })
})

describe('private storage through the context manager', () => {
  it('a call that writes only private storage commits it without a delta; deleting the context removes it', async () => {
    const n = await newNode()
    const app = await n.applications.install(fixture('as-collections'))
    const ctx = (await n.contexts.create(n.createGroup(), fromBase58(app.applicationId, 'application id', 32), {})).contextId
    const before = n.contexts.require(ctx)
    const r = await n.contexts.execute(ctx, 'secret_set', { key: 'k', value: 'mine' })
    expect(r.deltaId).toBeNull()
    expect(n.contexts.require(ctx)).toMatchObject({ rootHash: before.rootHash, deltas: before.deltas })
    expect((await n.contexts.execute(ctx, 'secret_get', { key: 'k' })).result).toBe('mine')
    // with a replicated write in the same call's delta, still nothing of it in the delta
    await n.contexts.execute(ctx, 'put', { key: 'x', value: 'y' })
    expect(n.store.scanPrefix('private', ctx)).toHaveLength(1)
    n.contexts.delete(ctx)
    expect(n.store.scanPrefix('private', ctx)).toEqual([])
  })
})
