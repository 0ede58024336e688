import { Emitter } from '../primitives/emitter.js'
import { isMeroError, MeroError } from '../primitives/errors.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { sha256 } from '../primitives/hash.js'
import type { BlobStore } from '../blobs/blob-store.js'
import { type Bundle, isGzip, readBundle } from '../packages/bundle.js'
import { compareVersions, didKey } from '../packages/manifest.js'
import type { Store } from '../store/store.js'

/**
 * Installed applications. Two kinds (docs/applications.md has the why):
 *
 * - a **package**, installed from a signed bundle (`.mpk`): its application id comes from its
 *   package name and signer (packages/manifest.ts), so every version of it is the same
 *   application. The bundle and the module it holds are blobs; a newer version replaces the
 *   older one on this node, and the contexts that run the application run it from their next
 *   call. An older version, or the same version with other content, is refused.
 * - a **development** application, installed from a bare `.wasm`: unsigned, its application id
 *   is the SHA-256 of the module (as every application's was before packages), which is also
 *   its blob id.
 *
 * Modules are validated at install. Blobs are held as "app:<id>" while the application is
 * installed.
 */
export interface ApplicationAbi {
  methods: { name: string; params?: unknown; readOnly?: boolean }[]
  events?: unknown[]
  [k: string]: unknown
}

export interface ApplicationMeta {
  applicationId: string
  /** Absent in records written before packages: a development application. */
  kind?: 'package' | 'development'
  size: number
  installedAt: number
  source?: string
  abi?: ApplicationAbi
  /** Packages: the package name, its version, its signer (did:key). */
  package?: string
  version?: string
  signer?: string
  /** Packages: the module's id (the SHA-256 of the wasm, its blob id) and the bundle's blob id. */
  moduleId?: string
  bundleId?: string
  /** Packages: the versions this node installed before the current one, oldest first. */
  previousVersions?: string[]
}

/** Checks a module and returns what it declares; throws a MeroError (InvalidModule) otherwise. */
export type ModuleValidator = (bytes: Uint8Array) => { abi?: ApplicationAbi } | Promise<{ abi?: ApplicationAbi }>

export class ApplicationStore {
  /** Module id by application id (hex): asked on every call, changed only here. */
  private readonly modules = new Map<string, Buffer>()
  /**
   * Each newly installed application (the node announces it to the DHT), each one whose bytes
   * turn out to be missing from the blobs folder (the node fetches them again), and each module no
   * longer run (uninstalled, or an older version replaced: the runtime forgets it).
   */
  readonly events = new Emitter<{ installed: { applicationId: Buffer; meta: ApplicationMeta }; missing: { applicationId: Buffer }; moduleDropped: { moduleId: Buffer } }>()

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly validate: ModuleValidator,
    readonly maxModuleBytes: number,
  ) {}

  /** The most an application may take as fetched or uploaded bytes: a module, or a bundle (room for its manifest). */
  get maxFetchBytes(): number {
    return this.maxModuleBytes + 4 * 1024 * 1024
  }

  /**
   * Installs what a blob already on this node holds (e.g. uploaded with POST /blobs): a bundle
   * (gzip) or a bare wasm module.
   */
  async installFromBlob(blobId: Buffer, source?: string): Promise<ApplicationMeta> {
    const limit = this.maxFetchBytes
    const bytes = await this.blobs.readAll(blobId, limit).catch((e) => {
      if ((e as MeroError).kind === 'LimitExceeded') throw new MeroError('InvalidModule', `the module or bundle is larger than the ${limit} bytes allowed (runtime.max_module_bytes and room for a manifest)`)
      throw e
    })
    return isGzip(bytes) ? this.installBundle(bytes, source) : this.install(bytes, source)
  }

  /** Installs a bare wasm module: a development application (unsigned). */
  async install(bytes: Uint8Array, source?: string): Promise<ApplicationMeta> {
    if (bytes.length > this.maxModuleBytes) throw new MeroError('InvalidModule', `the module is ${bytes.length} bytes, more than the ${this.maxModuleBytes} allowed (runtime.max_module_bytes)`)
    const { abi } = await this.validate(bytes)
    const id = sha256(bytes)
    const existing = this.get(id)
    if (existing) return existing
    const blob = await this.blobs.add(bytes, holderOf(id))
    if (blob.blobId !== toBase58(id)) throw new MeroError('Internal', 'blob id and application id disagree')
    const meta: ApplicationMeta = { applicationId: toBase58(id), kind: 'development', size: bytes.length, installedAt: Date.now(), ...(source ? { source } : {}), ...(abi ? { abi } : {}) }
    this.store.put('application', id, Buffer.from(JSON.stringify(meta)))
    this.events.emit('installed', { applicationId: id, meta })
    return meta
  }

  /**
   * Installs a signed bundle: verified whole (bundle.ts), its module validated, then the bundle
   * and module stored as blobs. A newer version of an installed package replaces it; anything
   * refused leaves nothing behind.
   */
  async installBundle(bytes: Uint8Array, source?: string): Promise<ApplicationMeta> {
    const bundle = readBundle(bytes, this.bundleLimits())
    const { manifest } = bundle
    if (bundle.wasm.length > this.maxModuleBytes) throw new MeroError('InvalidModule', `the module is ${bundle.wasm.length} bytes, more than the ${this.maxModuleBytes} allowed (runtime.max_module_bytes)`)
    const existing = this.get(bundle.applicationId)
    if (existing?.kind === 'package') {
      const order = compareVersions(manifest.appVersion, existing.version!)
      if (order === 0) {
        if (existing.moduleId === toBase58(sha256(bundle.wasm))) return existing
        throw new MeroError('Conflict', `${manifest.package} ${manifest.appVersion} is already installed with another module; a new release needs a new version`)
      }
      if (order < 0) throw new MeroError('Conflict', `${manifest.package} ${manifest.appVersion} is older than the installed ${existing.version}; uninstall it first to go back`)
    }
    const { abi } = await this.validate(bundle.wasm)
    const holder = holderOf(bundle.applicationId)
    const moduleBlob = await this.blobs.add(bundle.wasm, holder)
    const bundleBlob = await this.blobs.add(bytes, holder)
    const meta: ApplicationMeta = {
      applicationId: toBase58(bundle.applicationId),
      kind: 'package',
      size: bundle.wasm.length,
      installedAt: Date.now(),
      ...(source ? { source } : {}),
      ...(abi ? { abi } : {}),
      package: manifest.package,
      version: manifest.appVersion,
      signer: didKey(bundle.signer),
      moduleId: moduleBlob.blobId,
      bundleId: bundleBlob.blobId,
      ...(existing?.version ? { previousVersions: [...(existing.previousVersions ?? []), existing.version] } : {}),
    }
    this.store.put('application', bundle.applicationId, Buffer.from(JSON.stringify(meta)))
    this.modules.delete(bundle.applicationId.toString('hex'))
    if (existing) this.releaseBlobs(existing, [meta.moduleId!, meta.bundleId!])
    this.events.emit('installed', { applicationId: bundle.applicationId, meta })
    return meta
  }

  private bundleLimits() {
    return { maxBundleBytes: this.maxFetchBytes, maxContentBytes: this.maxModuleBytes + 2 * 1024 * 1024, maxFiles: 64 }
  }

  /** Checks a bundle fetched for `applicationId` and installs it (a joiner's fetch). */
  async installFetched(applicationId: Buffer, bytes: Uint8Array, source: string): Promise<ApplicationMeta> {
    if (sha256(bytes).equals(applicationId)) return this.install(bytes, source)
    if (!isGzip(bytes)) throw new MeroError('InvalidPackage', `the peer sent something that is neither application ${toBase58(applicationId)}'s module nor a bundle`)
    const bundle: Bundle = readBundle(bytes)
    if (!bundle.applicationId.equals(applicationId)) {
      throw new MeroError('InvalidPackage', `the peer sent a bundle of ${bundle.manifest.package} by ${bundle.manifest.signerId} (application ${toBase58(bundle.applicationId)}), not application ${toBase58(applicationId)}`)
    }
    return this.installBundle(bytes, source)
  }

  get(id: Buffer): ApplicationMeta | undefined {
    const v = this.store.get('application', id)
    return v ? (JSON.parse(v.toString('utf8')) as ApplicationMeta) : undefined
  }

  require(id: Buffer): ApplicationMeta {
    const meta = this.get(id)
    if (!meta) throw new MeroError('ApplicationNotFound', `application ${toBase58(id)} is not installed on this node; \`meroctl app list\` shows what is`)
    return meta
  }

  list(): ApplicationMeta[] {
    return this.store.scan('application').map(([, v]) => JSON.parse(v.toString('utf8')) as ApplicationMeta)
  }

  /** Whether a blob holder names an application ("app:<id>") that is no longer installed. */
  isStaleHolder(holder: string): boolean {
    if (!holder.startsWith(HOLDER_PREFIX)) return false
    try {
      return !this.get(fromBase58(holder.slice(HOLDER_PREFIX.length), 'application id', 32))
    } catch {
      return false // not ours to judge
    }
  }

  /** The id of the module an application runs (its wasm's SHA-256): the application id itself for a development one. */
  moduleId(id: Buffer): Buffer {
    const k = id.toString('hex')
    let m = this.modules.get(k)
    if (!m) {
      const meta = this.require(id)
      m = meta.moduleId ? fromBase58(meta.moduleId, 'module id', 32) : id
      this.modules.set(k, m)
    }
    return m
  }

  /**
   * The module bytes (from the blob store). Bytes gone from the blobs folder are a typed error,
   * reported as `missing` (the node fetches them again from a peer).
   */
  async bytes(id: Buffer): Promise<Buffer> {
    const moduleId = this.moduleId(id)
    try {
      return await this.blobs.readAll(moduleId)
    } catch (e) {
      if (!isMeroError(e, 'BlobContentMissing')) throw e
      this.events.emit('missing', { applicationId: id })
      throw new MeroError('BlobContentMissing', `the bytes of application ${toBase58(id)} are missing from this node's blobs folder (chunk ${String(e.details?.chunk).slice(0, 16)}… is not there); the node fetches them again from a peer of a group that uses it, or install the application again (\`meroctl app install\`)`, e.details)
    }
  }

  /** Installed applications whose bytes (a package's module or bundle) are not all in the blobs folder. */
  missing(): { applicationId: string; chunks: string[] }[] {
    return this.list()
      .map((a) => ({ applicationId: a.applicationId, chunks: blobsOf(a).flatMap((b) => this.blobs.missingChunks(fromBase58(b, 'blob id', 32))) }))
      .filter((a) => a.chunks.length > 0)
  }

  /**
   * Puts back the bytes of an installed application whose files were lost, as fetched from a
   * peer for `id`: a development application's module (checked by its hash), or a package's
   * bundle (checked by its signature; a newer version than the installed one installs as an
   * upgrade would).
   */
  async restore(bytes: Uint8Array, id = sha256(bytes)): Promise<ApplicationMeta> {
    if (sha256(bytes).equals(id)) {
      const meta = this.require(id)
      await this.blobs.add(bytes, holderOf(id))
      return meta
    }
    const meta = this.require(id)
    const bundle = readBundle(bytes, this.bundleLimits())
    if (!bundle.applicationId.equals(id)) throw new MeroError('InvalidPackage', `the bundle is application ${toBase58(bundle.applicationId)}, not ${toBase58(id)}`)
    if (meta.version !== bundle.manifest.appVersion) return this.installBundle(bytes, meta.source)
    if (meta.moduleId !== toBase58(sha256(bundle.wasm))) throw new MeroError('InvalidPackage', `the bundle's module is not the one ${meta.package} ${meta.version} was installed with`)
    await this.blobs.add(bundle.wasm, holderOf(id))
    await this.blobs.add(bytes, holderOf(id))
    return meta
  }

  /**
   * What a peer asking for application `id` over the blob protocol is sent: a package's bundle
   * (it checks the signature), a development application's module (it checks the hash).
   */
  servedBlobOf(id: Buffer): Buffer | undefined {
    const meta = this.get(id)
    if (!meta) return undefined
    return meta.bundleId ? fromBase58(meta.bundleId, 'bundle id', 32) : id
  }

  /** Removes an application; `inUseBy` lists what still uses it (then it is refused). */
  uninstall(id: Buffer, contexts: Buffer[] = []): ApplicationMeta {
    const meta = this.require(id)
    if (contexts.length) {
      const inUseBy = contexts.map(toBase58)
      throw new MeroError('ApplicationInUse', `application ${toBase58(id)} is used by ${inUseBy.length} context(s) (${inUseBy.slice(0, 3).join(', ')}${inUseBy.length > 3 ? ', …' : ''}); delete them or move them to another application first`, { contexts: inUseBy })
    }
    this.store.del('application', id)
    this.modules.delete(id.toString('hex'))
    this.releaseBlobs(meta, [])
    return meta
  }

  /** Drops this application's hold on the blobs of `meta` (but those in `keep`). */
  private releaseBlobs(meta: ApplicationMeta, keep: string[]): void {
    const holder = holderOf(fromBase58(meta.applicationId, 'application id', 32))
    for (const b of blobsOf(meta)) {
      if (keep.includes(b)) continue
      const id = fromBase58(b, 'blob id', 32)
      if (this.blobs.get(id)?.holders.includes(holder)) this.blobs.release(id, holder)
    }
    const moduleId = meta.moduleId ?? meta.applicationId
    if (!keep.includes(moduleId)) this.events.emit('moduleDropped', { moduleId: fromBase58(moduleId, 'module id', 32) })
  }
}

/** The blobs an application holds: a package's module and bundle, a development application's module. */
function blobsOf(meta: ApplicationMeta): string[] {
  return meta.kind === 'package' ? [meta.moduleId!, meta.bundleId!] : [meta.applicationId]
}

const HOLDER_PREFIX = 'app:'
const holderOf = (id: Buffer) => `${HOLDER_PREFIX}${toBase58(id)}`
