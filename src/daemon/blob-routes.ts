import type { IncomingMessage, ServerResponse } from 'node:http'
import type { MeroNode } from '../core/node/node.js'
import { isMeroError } from '../core/primitives/errors.js'
import { fromBase58 } from '../core/primitives/encoding.js'
import { parseBlobId } from '../core/primitives/ids.js'
import { resolveId } from './methods/resolve.js'

/**
 * Streamed blob transfer on the socket, so large content never passes through JSON:
 * `POST /blobs` (raw body) → {blobId, size, chunks}; `GET /blobs/<id>` → the raw content;
 * `GET /blobs/<id>?context=<context>` fetches it first from the context's peers when this node
 * lacks it (a file an app shared in the context).
 * Errors are JSON `{error: {kind, message}}` with an HTTP status.
 */
export function blobRoutes(node: MeroNode) {
  return (url: URL, req: IncomingMessage, res: ServerResponse): boolean => {
    if (url.pathname === '/blobs' && req.method === 'POST') {
      void node.blobs
        .add(req as AsyncIterable<Uint8Array>, 'user')
        .then((meta) => json(res, 200, { blobId: meta.blobId, size: meta.size, chunks: meta.chunks.length }))
        .catch((e) => fail(res, e))
      return true
    }
    const m = /^\/blobs\/([^/]+)$/.exec(url.pathname)
    if (m && req.method === 'GET') {
      void download(node, m[1]!, url.searchParams.get('context'), res).catch((e) => fail(res, e))
      return true
    }
    return false
  }
}

async function download(node: MeroNode, idText: string, context: string | null, res: ServerResponse): Promise<void> {
  const id = parseBlobId(decodeURIComponent(idText), 'blob id')
  if (context && !node.blobs.get(id)) await node.sharedBlob(id, fromBase58(resolveId(node, 'context', context), 'context id', 32))
  const meta = node.blobs.get(id)
  if (!meta) return json(res, 404, { error: { kind: 'BlobNotFound', message: `no blob ${idText} on this node` } })
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': meta.size })
  for await (const chunk of node.blobs.read(id)) {
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r))
  }
  res.end()
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

function fail(res: ServerResponse, e: unknown): void {
  if (res.headersSent) return void res.destroy(e as Error)
  if (isMeroError(e)) return json(res, e.kind === 'BlobNotFound' ? 404 : 400, { error: { kind: e.kind, message: e.message } })
  json(res, 500, { error: { kind: 'Internal', message: (e as Error).message } })
}
