import { z } from 'zod'
import { MeroError } from '../../core/primitives/errors.js'
import { parseBlobId } from '../../core/primitives/ids.js'
import { base58Id } from './schemas.js'
import { method, type MethodTable } from './types.js'

/** blob.* — local content-addressed blobs (content itself moves over POST/GET /blobs). */
export const blobMethods: MethodTable = {
  'blob.list': method({
    description: 'List the blobs stored on this node',
    params: z.object({}).strict(),
    handler: (_p, { node }) => ({
      blobs: node.blobs.list().map(({ blobId, size, chunks, createdAt, holders }) => ({ blobId, size, chunks: chunks.length, createdAt, holders })),
    }),
  }),
  'blob.get': method({
    description: "A blob's metadata: size, chunks, holders",
    params: z.object({ blobId: base58Id('blob id') }).strict(),
    handler: ({ blobId }, { node }) => {
      const meta = node.blobs.get(parseBlobId(blobId))
      if (!meta) throw new MeroError('BlobNotFound', `no blob ${blobId} on this node`)
      return { ...meta, chunks: meta.chunks.length }
    },
  }),
  'blob.add': method({
    description: 'Store a file the daemon can read, by absolute path',
    params: z.object({ path: z.string().startsWith('/', { message: 'expected an absolute path' }) }).strict(),
    handler: async ({ path }, { node }) => {
      const meta = await node.blobs.addFile(path, 'user')
      return { blobId: meta.blobId, size: meta.size, chunks: meta.chunks.length }
    },
  }),
  'blob.remove': method({
    description: 'Remove a blob added by hand; refused while an application uses it',
    params: z.object({ blobId: base58Id('blob id') }).strict(),
    handler: ({ blobId }, { node }) => {
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
  }),
}
