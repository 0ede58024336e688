import { createHash, randomBytes } from 'node:crypto'
import type { GroupStore } from '../governance/group-store.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { checkGroupAuth, type AuthProvider } from '../governance/stream-auth.js'
import { FRAME_TIMEOUT_MS, type FrameChannel } from '../network/transport.js'
import { CHUNK_SIZE, type BlobStore } from './blob-store.js'
import { decodeBlobFrame, encodeBlobFrame, MAX_BLOB_CHUNKS, type BlobFrame, type RefusalKind } from './blob-wire.js'

/**
 * Blob transfer over `/mero/blob/1.0.0` (seed 002's blob protocol; DESIGN §9):
 *
 *   requester                                server
 *   BlobRequest{blobId, groupId, maxBytes} →
 *                                          ←  Challenge{nonce}
 *   Auth{identity, signature}              →  a member of the group signs the fresh nonce
 *                                          ←  Refused{kind, reason}   (then the stream ends)
 *                                          ←  BlobInfo{size, chunk hashes}
 *                                          ←  BlobChunk{0, …} … BlobChunk{n-1, …}
 *
 * What is served: the application of a context registered in (or the target application of) a
 * group the requester proves membership of. Content addressing protects integrity, not
 * confidentiality: application ids are announced in the DHT, so knowing an id must not be enough
 * to read the module. A package's application id is not a content hash: asked for it, the
 * server sends the package's signed bundle (`resolve`), which the requester checks by its
 * signature instead of its hash. Besides applications, a blob an app shared with a context
 * (held as "ctx:<context id>", by blob_announce_to_context) is served to a member who joined that
 * context. Nothing else (user blobs) is served.
 *
 * The requester checks the chunking (1 MiB chunks, the last one shorter), every chunk against its
 * hash and the whole against the blob id, and returns the bytes only when all of it holds.
 */
export const TRANSFER_TIMEOUT_MS = 120_000

export interface BlobServerDeps {
  blobs: BlobStore
  groups: GroupStore
  /** This node's peer id: the server a requester's proof must name. */
  self: string
  /** The blob to send for a requested id (a package's bundle for its application id); default: the id itself. */
  resolve?: (id: Buffer) => Buffer | undefined
}

export interface ServeResult {
  blobId?: string
  bytes: number
  refused?: RefusalKind
}

async function send(ch: FrameChannel, f: BlobFrame): Promise<void> {
  await ch.send(encodeBlobFrame(f))
}

async function receive(ch: FrameChannel, timeoutMs: number): Promise<BlobFrame> {
  return decodeBlobFrame(await ch.receive(timeoutMs))
}

/** Why `identity` may not have blob `blobId` through group `groupId`, or undefined. */
export function whyNotServed(d: BlobServerDeps, blobId: Buffer, groupId: Buffer, maxBytes: number, identity?: Buffer): { kind: RefusalKind; reason: string } | undefined {
  if (d.groups.deleted(groupId)) return { kind: 'NotAuthorized', reason: 'the group is deleted' }
  const id = toBase58(blobId)
  const usedByGroup =
    d.groups.targetApplication(groupId)?.equals(blobId) === true ||
    d.groups.contexts(groupId).some((c) => c.applicationId.equals(blobId)) ||
    (identity !== undefined && sharedWith(d, blobId, groupId, identity))
  if (!usedByGroup) return { kind: 'NotAuthorized', reason: 'the blob is not an application of the group, nor shared in a context of it the requester joined' }
  const meta = d.blobs.get(servedBlob(d, blobId))
  if (!meta) return { kind: 'BlobNotFound', reason: `this node does not hold blob ${id}` }
  if (meta.size > maxBytes) return { kind: 'LimitExceeded', reason: `the blob is ${meta.size} bytes, more than the ${maxBytes} asked for` }
  return undefined
}

/** Whether an app shared the blob with a context of the group that `identity` joined. */
function sharedWith(d: BlobServerDeps, blobId: Buffer, groupId: Buffer, identity: Buffer): boolean {
  const holders = d.blobs.get(blobId)?.holders ?? []
  return holders.some((h) => {
    if (!h.startsWith(CONTEXT_HOLDER)) return false
    let ctx: Buffer
    try {
      ctx = fromBase58(h.slice(CONTEXT_HOLDER.length), 'context id', 32)
    } catch {
      return false
    }
    const access = d.groups.contextAccess(groupId, ctx, identity)
    return access.registered && access.joined && access.role !== undefined
  })
}

/** The holder a blob shared with a context gets: "ctx:<base58 context id>". */
export const CONTEXT_HOLDER = 'ctx:'

function servedBlob(d: BlobServerDeps, id: Buffer): Buffer {
  return d.resolve?.(id) ?? id
}

/** Serves one blob stream; returns when the blob was sent, the requester refused, or it went silent. */
export async function serveBlob(ch: FrameChannel, d: BlobServerDeps, opts: { timeoutMs?: number } = {}): Promise<ServeResult> {
  const timeout = opts.timeoutMs ?? FRAME_TIMEOUT_MS
  const refuse = async (kind: RefusalKind, reason: string, blobId?: string): Promise<ServeResult> => {
    await send(ch, { type: 'Refused', kind, reason })
    return { blobId, bytes: 0, refused: kind }
  }
  try {
    let req: BlobFrame
    try {
      req = await receive(ch, timeout)
    } catch (e) {
      if (!(e instanceof MeroError)) throw e
      return await refuse(e.kind === 'LimitExceeded' ? 'LimitExceeded' : 'InvalidInput', e.message)
    }
    if (req.type !== 'BlobRequest') return await refuse('InvalidInput', `expected BlobRequest, got ${req.type}`)
    const blobId = toBase58(req.blobId)
    // challenge first, whatever is asked: a stranger learns nothing about what this node holds
    const nonce = randomBytes(32)
    await send(ch, { type: 'Challenge', nonce })
    const auth = await receive(ch, timeout)
    if (auth.type !== 'Auth') return await refuse('InvalidInput', `expected Auth, got ${auth.type}`, blobId)
    if (!d.groups.has(req.groupId)) return await refuse('NotAuthorized', 'this node does not hold the group', blobId)
    const denied = checkGroupAuth(d.groups, req.groupId, nonce, { kind: 'member', identity: auth.identity, signature: auth.signature }, d.self)
    if (denied) return await refuse('NotAuthorized', denied, blobId)
    const why = whyNotServed(d, req.blobId, req.groupId, req.maxBytes, auth.identity)
    if (why) return await refuse(why.kind, why.reason, blobId)
    const served = servedBlob(d, req.blobId)
    const meta = d.blobs.get(served)!
    await send(ch, { type: 'BlobInfo', size: meta.size, chunks: meta.chunks.map((c) => Buffer.from(c, 'hex')) })
    let index = 0
    for await (const data of d.blobs.read(served)) await send(ch, { type: 'BlobChunk', index: index++, data })
    return { blobId, bytes: meta.size }
  } finally {
    ch.close()
  }
}

export interface FetchBlobOptions {
  /** The group whose membership the requester proves (one that uses the blob). */
  groupId: Buffer
  auth: AuthProvider
  /** The largest blob accepted. */
  maxBytes: number
  /** Per frame. */
  timeoutMs?: number
  /** Whole transfer. */
  transferTimeoutMs?: number
  /**
   * The content must hash to `blobId` [true]. False for an application, which may come as its
   * package's bundle: every chunk is still checked, and the caller checks the signature.
   */
  contentAddressed?: boolean
}

/** The chunk lengths a blob of `size` bytes must have (the blob store's chunking). */
function expectedChunkLength(size: number, index: number): number {
  return Math.min(CHUNK_SIZE, size - index * CHUNK_SIZE)
}

/**
 * Fetches a blob from one peer and returns its content, verified chunk by chunk and as a whole
 * against `blobId`. A refusal is thrown as a MeroError of the server's kind; a corrupt or
 * malformed transfer as SyncFailed (details.reason says which check failed).
 */
export async function fetchBlob(ch: FrameChannel, blobId: Buffer, opts: FetchBlobOptions): Promise<Buffer> {
  const frameTimeout = opts.timeoutMs ?? FRAME_TIMEOUT_MS
  const deadline = Date.now() + (opts.transferTimeoutMs ?? TRANSFER_TIMEOUT_MS)
  const next = async <T extends BlobFrame['type']>(type: T): Promise<Extract<BlobFrame, { type: T }>> => {
    const left = deadline - Date.now()
    if (left <= 0) throw new MeroError('Timeout', `the transfer of blob ${toBase58(blobId)} took too long`)
    const f = await receive(ch, Math.min(frameTimeout, left))
    if (f.type === 'Refused') throw new MeroError(f.kind, `the peer refused: ${f.reason}`, { remote: true })
    if (f.type !== type) throw corrupt('protocol', `expected ${type}, got ${f.type}`)
    return f as Extract<BlobFrame, { type: T }>
  }
  try {
    await send(ch, { type: 'BlobRequest', blobId, groupId: opts.groupId, maxBytes: opts.maxBytes })
    const challenge = await next('Challenge')
    const auth = opts.auth(challenge.nonce, opts.groupId)
    await send(ch, { type: 'Auth', identity: auth.identity, signature: auth.signature })
    const info = await next('BlobInfo')
    if (info.size > opts.maxBytes) throw new MeroError('LimitExceeded', `the peer offers ${info.size} bytes, more than the ${opts.maxBytes} allowed`)
    const count = Math.ceil(info.size / CHUNK_SIZE)
    if (info.chunks.length !== count || count > MAX_BLOB_CHUNKS) throw corrupt('chunking', `${info.chunks.length} chunks for ${info.size} bytes (expected ${count})`)
    const whole = createHash('sha256')
    const parts: Buffer[] = []
    for (let i = 0; i < count; i++) {
      const chunk = await next('BlobChunk')
      if (chunk.index !== i) throw corrupt('protocol', `chunk ${chunk.index} arrived where chunk ${i} was expected`)
      if (chunk.data.length !== expectedChunkLength(info.size, i)) throw corrupt('chunking', `chunk ${i} has ${chunk.data.length} bytes, expected ${expectedChunkLength(info.size, i)}`)
      if (!createHash('sha256').update(chunk.data).digest().equals(info.chunks[i]!)) throw corrupt('corrupt_chunk', `chunk ${i} does not match its hash`)
      whole.update(chunk.data)
      parts.push(chunk.data)
    }
    if (opts.contentAddressed !== false && !whole.digest().equals(blobId)) throw corrupt('corrupt_blob', `the content does not hash to blob id ${toBase58(blobId)}`)
    return Buffer.concat(parts)
  } finally {
    ch.close()
  }
}

function corrupt(reason: string, message: string): MeroError {
  return new MeroError('SyncFailed', `bad blob transfer: ${message}`, { reason })
}
