import { CHUNK_SIZE } from './blob-store.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { MeroError, type ErrorKind } from '../primitives/errors.js'

/**
 * Frames of the `/mero/blob/1.0.0` stream (DESIGN §9), a borsh-tagged union, length-prefixed by
 * the transport. The decoder refuses unknown tags, truncation, trailing bytes and oversized fields.
 */
export const BLOB_PROTOCOL = '/mero/blob/1.0.0'
/** 4096 chunks of 1 MiB: a 4 GiB blob, a 128 KiB chunk list. */
export const MAX_BLOB_CHUNKS = 4096
/** The largest frame of the protocol: a whole chunk and its header. */
export const MAX_BLOB_FRAME = CHUNK_SIZE + 64

/** Why a server refused; each maps to the MeroError kind the requester throws. */
export const REFUSAL_KINDS = ['BlobNotFound', 'NotAuthorized', 'LimitExceeded', 'InvalidInput'] as const satisfies readonly ErrorKind[]
export type RefusalKind = (typeof REFUSAL_KINDS)[number]

export type BlobFrame =
  /** "Send me blob `blobId`, which group `groupId` uses; I accept at most `maxBytes`." */
  | { type: 'BlobRequest'; blobId: Buffer; groupId: Buffer; maxBytes: number }
  | { type: 'Challenge'; nonce: Buffer }
  /** A member's signature over the challenge (governance/stream-auth.ts, with the group id). */
  | { type: 'Auth'; identity: Buffer; signature: Buffer }
  | { type: 'Refused'; kind: RefusalKind; reason: string }
  /** The blob's size and its chunks' SHA-256 hashes, in order; the chunks follow. */
  | { type: 'BlobInfo'; size: number; chunks: Buffer[] }
  | { type: 'BlobChunk'; index: number; data: Buffer }

const TAGS = ['BlobRequest', 'Challenge', 'Auth', 'Refused', 'BlobInfo', 'BlobChunk'] as const

export function encodeBlobFrame(f: BlobFrame): Buffer {
  const w = new Writer().u8(TAGS.indexOf(f.type))
  switch (f.type) {
    case 'BlobRequest':
      w.fixed(f.blobId, 32).fixed(f.groupId, 32).u64(f.maxBytes)
      break
    case 'Challenge':
      w.fixed(f.nonce, 32)
      break
    case 'Auth':
      w.fixed(f.identity, 32).fixed(f.signature, 64)
      break
    case 'Refused':
      w.u8(REFUSAL_KINDS.indexOf(f.kind)).string(f.reason.slice(0, 1024))
      break
    case 'BlobInfo':
      w.u64(f.size).vec(f.chunks, (c) => w.fixed(c, 32))
      break
    case 'BlobChunk':
      w.u32(f.index).bytes(f.data)
      break
  }
  return w.finish()
}

export function decodeBlobFrame(data: Uint8Array): BlobFrame {
  if (data.length > MAX_BLOB_FRAME) throw new MeroError('LimitExceeded', `blob frame of ${data.length} bytes exceeds ${MAX_BLOB_FRAME}`)
  const r = new Reader(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'blob frame')
  const tag = r.u8()
  let f: BlobFrame
  switch (TAGS[tag]) {
    case 'BlobRequest':
      f = { type: 'BlobRequest', blobId: Buffer.from(r.fixed(32)), groupId: Buffer.from(r.fixed(32)), maxBytes: safe(r.u64(), 'maxBytes') }
      break
    case 'Challenge':
      f = { type: 'Challenge', nonce: Buffer.from(r.fixed(32)) }
      break
    case 'Auth':
      f = { type: 'Auth', identity: Buffer.from(r.fixed(32)), signature: Buffer.from(r.fixed(64)) }
      break
    case 'Refused': {
      const k = r.u8()
      const kind = REFUSAL_KINDS[k]
      if (!kind) throw new MeroError('InvalidInput', `blob frame: unknown refusal kind ${k}`)
      f = { type: 'Refused', kind, reason: r.string(1024) }
      break
    }
    case 'BlobInfo':
      f = { type: 'BlobInfo', size: safe(r.u64(), 'size'), chunks: r.vec(() => Buffer.from(r.fixed(32)), MAX_BLOB_CHUNKS, 'chunks') }
      break
    case 'BlobChunk':
      f = { type: 'BlobChunk', index: r.u32(), data: Buffer.from(r.bytes(CHUNK_SIZE)) }
      break
    default:
      throw new MeroError('InvalidInput', `unknown blob frame tag ${tag}`)
  }
  r.end()
  return f
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MeroError('InvalidInput', `blob frame: ${what} is out of range`)
  return Number(v)
}
