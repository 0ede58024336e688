import { MeroError } from '../../core/primitives/errors.js'
import { parseBlobId } from '../../core/primitives/ids.js'
import type { Handlers } from './types.js'

/** blob.* — local content-addressed blobs (content itself moves over POST/GET /blobs). */
export const blobHandlers = {
  'blob.list': (_p, { node }) => ({
    blobs: node.blobs.list().map(({ blobId, size, chunks, createdAt, holders }) => ({ blobId, size, chunks: chunks.length, createdAt, holders })),
  }),
  'blob.get': ({ blobId }, { node }) => {
    const meta = node.blobs.get(parseBlobId(blobId))
    if (!meta) throw new MeroError('BlobNotFound', `no blob ${blobId} on this node`)
    return { ...meta, chunks: meta.chunks.length }
  },
  'blob.add': async ({ path }, { node }) => {
    const meta = await node.blobs.addFile(path, 'user')
    return { blobId: meta.blobId, size: meta.size, chunks: meta.chunks.length }
  },
  'blob.remove': ({ blobId }, { node }) => {
    const id = parseBlobId(blobId)
    const meta = node.blobs.get(id)
    if (!meta) throw new MeroError('BlobNotFound', `no blob ${blobId} on this node`)
    const others = meta.holders.filter((h) => h !== 'user')
    if (others.length) {
      throw new MeroError('Conflict', `blob ${blobId} is in use (${others.join(', ')}); uninstall what uses it first`, { holders: others })
    }
    node.blobs.release(id, 'user')
    return { blobId, removed: true }
  },
} satisfies Handlers<'blob'>
