import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Emitter } from '../primitives/emitter.js'
import { MeroError } from '../primitives/errors.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import type { Store } from '../store/store.js'

/**
 * Content-addressed, chunked blobs (seed 002's blob API). A blob's id is the SHA-256 of its
 * whole content (so an application id, the hash of its wasm bytes, is also its blob id). Content
 * is cut into 1 MiB chunks stored once each under blobs/<2 hex>/<chunk sha-256 hex>; metadata,
 * chunk reference counts and the blob's holders live in RocksDB (column 'blob').
 *
 * On an encrypted store (Store.cipher), each chunk file holds the chunk sealed on its own under
 * the store key, bound to its hash (store-cipher.ts); ids and file names stay the hashes of the
 * plain content, and what is served to peers is the plain content, over their encrypted streams.
 *
 * A blob is kept while it has a holder: "user" (added by hand), "app:<id>" (an installed
 * application), ... Removing the last holder makes it collectable.
 */
export const CHUNK_SIZE = 1024 * 1024

export interface BlobMeta {
  blobId: string
  size: number
  chunks: string[]
  createdAt: number
  holders: string[]
}

const META = 0x01
const CHUNK_REFS = 0x02

const metaKey = (id: Buffer) => Buffer.concat([Buffer.from([META]), id])
const chunkKey = (chunk: Buffer) => Buffer.concat([Buffer.from([CHUNK_REFS]), chunk])

export class BlobStore {
  /** Where the next sweepOrphans call starts, among the chunk folders. */
  private sweepCursor = 0
  /** Each blob deleted (its last holder released, or collected): the node stops announcing it. */
  readonly events = new Emitter<{ deleted: { blobId: Buffer } }>()

  constructor(
    private readonly store: Store,
    private readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }

  private chunkPath(hex: string): string {
    return join(this.dir, hex.slice(0, 2), hex)
  }

  /** Stores content from any chunked source (a file stream, an HTTP body, a buffer). */
  async add(source: AsyncIterable<Uint8Array> | Uint8Array, holder = 'user', maxBytes = Number.MAX_SAFE_INTEGER): Promise<BlobMeta> {
    const whole = createHash('sha256')
    const chunks: Buffer[] = []
    const written: string[] = []
    let pending: Buffer[] = []
    let pendingLength = 0
    let size = 0

    const flush = (final: boolean) => {
      while (pendingLength >= CHUNK_SIZE || (final && pendingLength > 0)) {
        const all = Buffer.concat(pending)
        const chunk = all.subarray(0, Math.min(CHUNK_SIZE, all.length))
        const rest = all.subarray(chunk.length)
        pending = rest.length ? [rest] : []
        pendingLength = rest.length
        const id = createHash('sha256').update(chunk).digest()
        const hex = id.toString('hex')
        const path = this.chunkPath(hex)
        if (!existsSync(path)) {
          mkdirSync(join(this.dir, hex.slice(0, 2)), { recursive: true, mode: 0o700 })
          const tmp = `${path}.${process.pid}.tmp`
          writeFileSync(tmp, this.store.cipher ? this.store.cipher.sealChunk(id, chunk) : chunk, { mode: 0o600 })
          renameSync(tmp, path)
          written.push(path)
        }
        chunks.push(id)
      }
    }

    try {
      const iterable = source instanceof Uint8Array ? [source] : source
      for await (const piece of iterable) {
        size += piece.length
        if (size > maxBytes) throw new MeroError('LimitExceeded', `the blob is larger than the ${maxBytes} bytes allowed`)
        whole.update(piece)
        pending.push(Buffer.from(piece))
        pendingLength += piece.length
        flush(false)
      }
      flush(true)
    } catch (e) {
      for (const p of written) rmSync(p, { force: true }) // nothing half-written
      throw e
    }

    const id = whole.digest()
    const existing = this.metaOf(id)
    const batch = this.store.batch()
    if (existing) {
      if (!existing.holders.includes(holder)) existing.holders.push(holder)
      batch.put('blob', metaKey(id), encodeMeta(existing))
      batch.write()
      return existing
    }
    for (const c of chunks) batch.put('blob', chunkKey(c), u32(this.chunkRefs(c) + 1))
    const meta: BlobMeta = { blobId: toBase58(id), size, chunks: chunks.map((c) => c.toString('hex')), createdAt: Date.now(), holders: [holder] }
    batch.put('blob', metaKey(id), encodeMeta(meta))
    batch.write()
    return meta
  }

  /** Adds a file by path, streamed. */
  addFile(path: string, holder = 'user', maxBytes?: number): Promise<BlobMeta> {
    if (!existsSync(path) || !statSync(path).isFile()) throw new MeroError('NotFound', `no file at ${path}`)
    return this.add(createReadStream(path, { highWaterMark: CHUNK_SIZE }), holder, maxBytes)
  }

  get(id: Buffer): BlobMeta | undefined {
    return this.metaOf(id)
  }

  has(id: Buffer): boolean {
    return this.store.has('blob', metaKey(id))
  }

  /** The chunks of a blob whose files are gone from the blobs folder (deleted by hand, a bad disk). */
  missingChunks(id: Buffer): string[] {
    const meta = this.metaOf(id)
    return meta ? meta.chunks.filter((hex) => !existsSync(this.chunkPath(hex))) : []
  }

  /** The content, chunk by chunk, each verified against its hash. */
  async *read(id: Buffer): AsyncGenerator<Buffer> {
    const meta = this.require(id)
    for (const hex of meta.chunks) {
      let chunk: Buffer
      const path = this.chunkPath(hex)
      try {
        chunk = await readChunk(path)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
        throw new MeroError('BlobContentMissing', `the content of blob ${meta.blobId} is missing from ${this.dir}: chunk ${hex} is not there`, { blobId: meta.blobId, chunk: hex })
      }
      if (this.store.cipher) chunk = this.store.cipher.openChunk(Buffer.from(hex, 'hex'), chunk, path)
      if (createHash('sha256').update(chunk).digest('hex') !== hex) {
        throw new MeroError('Internal', `blob ${meta.blobId} is corrupt: chunk ${hex} does not match its hash`)
      }
      yield chunk
    }
  }

  async readAll(id: Buffer, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
    const meta = this.require(id)
    if (meta.size > maxBytes) throw new MeroError('LimitExceeded', `blob ${meta.blobId} is ${meta.size} bytes, more than ${maxBytes}`)
    const parts: Buffer[] = []
    for await (const c of this.read(id)) parts.push(c)
    return Buffer.concat(parts)
  }

  /**
   * Copies the chunk files of `metas` into another blobs folder (a backup), keeping the layout.
   * Chunks are immutable, so a copy made after the metadata was read is still consistent; a chunk
   * deleted meanwhile (its blob released) is reported, not fatal.
   */
  async copyChunks(metas: readonly BlobMeta[], targetDir: string): Promise<{ chunks: number; bytes: number; missing: string[] }> {
    const out = { chunks: 0, bytes: 0, missing: [] as string[] }
    for (const hex of new Set(metas.flatMap((m) => m.chunks))) {
      const folder = join(targetDir, hex.slice(0, 2))
      mkdirSync(folder, { recursive: true, mode: 0o700 })
      try {
        await copyFile(this.chunkPath(hex), join(folder, hex))
        out.chunks++
        out.bytes += statSync(join(folder, hex)).size
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
        out.missing.push(hex)
      }
    }
    return out
  }

  list(): BlobMeta[] {
    return this.store.scanPrefix('blob', Buffer.from([META])).map(([, v]) => decodeMeta(v))
  }

  addHolder(id: Buffer, holder: string): void {
    const meta = this.require(id)
    if (meta.holders.includes(holder)) return
    meta.holders.push(holder)
    this.store.put('blob', metaKey(id), encodeMeta(meta))
  }

  /** Drops a holder; deletes the blob when it was the last one. Returns the holders left. */
  release(id: Buffer, holder: string): string[] {
    const meta = this.require(id)
    meta.holders = meta.holders.filter((h) => h !== holder)
    if (meta.holders.length === 0) this.delete(id, meta)
    else this.store.put('blob', metaKey(id), encodeMeta(meta))
    return meta.holders
  }

  /**
   * Garbage collection: deletes blobs none of whose holders is live (`isLive`; by default any
   * holder is), at most `limit` of them, and none added less than `minAgeMs` ago (an install in
   * progress holds its blob before it records the application). Returns how many were deleted
   * and whether more remain.
   */
  collect(options: { isLive?: (holder: string) => boolean; limit?: number; minAgeMs?: number; now?: number } = {}): { deleted: number; more: boolean } {
    const isLive = options.isLive ?? (() => true)
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER
    const youngest = (options.now ?? Date.now()) - (options.minAgeMs ?? 0)
    let deleted = 0
    for (const meta of this.list()) {
      if (meta.createdAt > youngest || meta.holders.some(isLive)) continue
      if (deleted === limit) return { deleted, more: true }
      this.delete(fromBase58(meta.blobId), meta)
      deleted++
    }
    return { deleted, more: false }
  }

  /**
   * Garbage collection of chunk files no blob references: those a crash left between writing a
   * blob's chunks and recording them, or between deleting a blob and its files, and the
   * temporary files of interrupted writes. Only files older than `minAgeMs` go (an add in
   * progress writes its chunks before it records them); each call visits `folders` of the 256
   * chunk folders, the next ones on the next call.
   */
  sweepOrphans(options: { minAgeMs?: number; folders?: number; now?: number } = {}): { deleted: number } {
    const oldest = (options.now ?? Date.now()) - (options.minAgeMs ?? 0)
    const all = readdirSync(this.dir).filter((f) => /^[0-9a-f]{2}$/.test(f)).sort()
    const visit = Math.min(all.length, options.folders ?? all.length)
    let deleted = 0
    for (let i = 0; i < visit; i++) {
      const folder = join(this.dir, all[(this.sweepCursor + i) % all.length]!)
      for (const name of readdirSync(folder)) {
        const path = join(folder, name)
        const chunk = /^[0-9a-f]{64}$/.test(name)
        if (!chunk && !name.endsWith('.tmp')) continue
        if (chunk && this.chunkRefs(Buffer.from(name, 'hex')) > 0) continue
        let mtime: number
        try {
          mtime = statSync(path).mtimeMs
        } catch {
          continue // gone meanwhile
        }
        if (mtime > oldest) continue
        rmSync(path, { force: true })
        deleted++
      }
    }
    this.sweepCursor = all.length ? (this.sweepCursor + visit) % all.length : 0
    return { deleted }
  }

  private delete(id: Buffer, meta: BlobMeta): void {
    const batch = this.store.batch()
    const orphaned: string[] = []
    for (const hex of new Set(meta.chunks)) {
      const c = Buffer.from(hex, 'hex')
      const refs = this.chunkRefs(c) - 1
      if (refs <= 0) {
        batch.del('blob', chunkKey(c))
        orphaned.push(hex)
      } else {
        batch.put('blob', chunkKey(c), u32(refs))
      }
    }
    batch.del('blob', metaKey(id))
    batch.write()
    for (const hex of orphaned) rmSync(this.chunkPath(hex), { force: true })
    this.events.emit('deleted', { blobId: id })
  }

  private require(id: Buffer): BlobMeta {
    const meta = this.metaOf(id)
    if (!meta) throw new MeroError('BlobNotFound', `no blob ${toBase58(id)} on this node; \`meroctl blob list\` shows the blobs`)
    return meta
  }

  private metaOf(id: Buffer): BlobMeta | undefined {
    const v = this.store.get('blob', metaKey(id))
    return v ? decodeMeta(v) : undefined
  }

  private chunkRefs(c: Buffer): number {
    const v = this.store.get('blob', chunkKey(c))
    return v ? v.readUInt32BE(0) : 0
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

function encodeMeta(m: BlobMeta): Buffer {
  return Buffer.from(JSON.stringify(m))
}

function decodeMeta(v: Buffer): BlobMeta {
  return JSON.parse(v.toString('utf8')) as BlobMeta
}

async function readChunk(path: string): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const p of createReadStream(path)) parts.push(p as Buffer)
  return Buffer.concat(parts)
}
