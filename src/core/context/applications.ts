import { isMeroError, MeroError } from '../primitives/errors.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { sha256 } from '../primitives/hash.js'
import type { BlobStore } from '../blobs/blob-store.js'
import type { Store } from '../store/store.js'

/**
 * Installed applications: wasm modules stored as blobs (the application id is the SHA-256 of the
 * bytes, hence also the blob id), validated at install, with the ABI their custom section
 * declares. The blob is held as "app:<id>" while the application is installed.
 */
export interface ApplicationAbi {
  methods: { name: string; params?: unknown; readOnly?: boolean }[]
  events?: unknown[]
  [k: string]: unknown
}

export interface ApplicationMeta {
  applicationId: string
  size: number
  installedAt: number
  source?: string
  abi?: ApplicationAbi
}

/** Checks a module and returns what it declares; throws a MeroError (InvalidModule) otherwise. */
export type ModuleValidator = (bytes: Uint8Array) => { abi?: ApplicationAbi } | Promise<{ abi?: ApplicationAbi }>

export class ApplicationStore {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly validate: ModuleValidator,
    private readonly maxModuleBytes: number,
    /** Told of each newly installed application (the node announces it to the DHT). */
    private readonly onInstalled?: (meta: ApplicationMeta) => void,
    /** Told when an application's bytes turn out to be missing from the blobs folder. */
    private readonly onMissing?: (id: Buffer) => void,
  ) {}

  /** Installs a module from a blob already on this node (e.g. uploaded with POST /blobs). */
  async installFromBlob(blobId: Buffer, source?: string): Promise<ApplicationMeta> {
    const bytes = await this.blobs.readAll(blobId, this.maxModuleBytes).catch((e) => {
      if ((e as MeroError).kind === 'LimitExceeded') throw new MeroError('InvalidModule', `the module is larger than the ${this.maxModuleBytes} bytes allowed (runtime.max_module_bytes)`)
      throw e
    })
    return this.install(bytes, source)
  }

  async install(bytes: Uint8Array, source?: string): Promise<ApplicationMeta> {
    if (bytes.length > this.maxModuleBytes) throw new MeroError('InvalidModule', `the module is ${bytes.length} bytes, more than the ${this.maxModuleBytes} allowed (runtime.max_module_bytes)`)
    const { abi } = await this.validate(bytes)
    const id = sha256(bytes)
    const existing = this.get(id)
    if (existing) return existing
    const blob = await this.blobs.add(bytes, holderOf(id))
    if (blob.blobId !== toBase58(id)) throw new MeroError('Internal', 'blob id and application id disagree')
    const meta: ApplicationMeta = { applicationId: toBase58(id), size: bytes.length, installedAt: Date.now(), ...(source ? { source } : {}), ...(abi ? { abi } : {}) }
    this.store.put('application', id, Buffer.from(JSON.stringify(meta)))
    this.onInstalled?.(meta)
    return meta
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

  /**
   * The module bytes (from the blob store). Bytes gone from the blobs folder are a typed error,
   * and `onMissing` is told (the node fetches them again from a peer).
   */
  async bytes(id: Buffer): Promise<Buffer> {
    this.require(id)
    try {
      return await this.blobs.readAll(id)
    } catch (e) {
      if (!isMeroError(e, 'BlobContentMissing')) throw e
      this.onMissing?.(id)
      throw new MeroError('BlobContentMissing', `the bytes of application ${toBase58(id)} are missing from this node's blobs folder (chunk ${String(e.details?.chunk).slice(0, 16)}… is not there); the node fetches them again from a peer of a group that uses it, or install the application again (\`meroctl app install\`)`, e.details)
    }
  }

  /** Installed applications whose bytes are not all in the blobs folder. */
  missing(): { applicationId: string; chunks: string[] }[] {
    return this.list()
      .map((a) => ({ applicationId: a.applicationId, chunks: this.blobs.missingChunks(fromBase58(a.applicationId, 'application id', 32)) }))
      .filter((a) => a.chunks.length > 0)
  }

  /** Puts back the bytes of an installed application whose files were lost. */
  async restore(bytes: Uint8Array): Promise<ApplicationMeta> {
    const id = sha256(bytes)
    const meta = this.require(id)
    await this.blobs.add(bytes, holderOf(id))
    return meta
  }

  /** Removes an application; `inUseBy` lists what still uses it (then it is refused). */
  uninstall(id: Buffer, inUseBy: string[] = []): void {
    this.require(id)
    if (inUseBy.length) {
      throw new MeroError('ApplicationInUse', `application ${toBase58(id)} is used by ${inUseBy.length} context(s) (${inUseBy.slice(0, 3).join(', ')}${inUseBy.length > 3 ? ', …' : ''}); delete them or move them to another application first`, { contexts: inUseBy })
    }
    this.store.del('application', id)
    this.blobs.release(id, holderOf(id))
  }
}

const HOLDER_PREFIX = 'app:'
const holderOf = (id: Buffer) => `${HOLDER_PREFIX}${toBase58(id)}`

