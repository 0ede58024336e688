import { createReadStream, statSync } from 'node:fs'
import { Progress } from './progress.js'
import type { RpcClient } from './rpc-client.js'

/** Streams a file to the daemon's blob store, with progress (bytes, rate) on a terminal. */
export async function uploadWithProgress(client: RpcClient, path: string, label: string, enabled: boolean): Promise<{ blobId: string; size: number; chunks: number }> {
  const progress = Progress.bytes(label, enabled, statSync(path).size)
  const source = createReadStream(path)
  source.on('data', (chunk) => progress.add(chunk.length))
  try {
    return await client.upload(source)
  } finally {
    progress.finish()
  }
}
