import type { BlobStore } from '../core/blobs/blob-store.js'
import { fromBase58 } from '../core/primitives/encoding.js'
import { MeroError } from '../core/primitives/errors.js'

/**
 * `app install <url>`: the daemon downloads a bundle (or a module) over HTTP(S) into a blob held by
 * "user" until the install takes it. undici is imported here, on the first download, not at start
 * (DESIGN §2). At most `maxBytes`, three redirects, and `timeoutMs` for the whole download.
 */
export async function downloadToBlob(blobs: BlobStore, url: string, maxBytes: number, timeoutMs = 60_000): Promise<Buffer> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new MeroError('InvalidInput', `'${url}' is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new MeroError('InvalidInput', `only http and https URLs can be installed from, not ${parsed.protocol}`)
  const { Agent, interceptors, request } = await import('undici')
  const dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 3 }))
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const res = await request(parsed, { dispatcher, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined)
      throw new MeroError('Unavailable', `${url} answered HTTP ${res.statusCode}`)
    }
    const length = Number(res.headers['content-length'])
    if (Number.isFinite(length) && length > maxBytes) {
      await res.body.dump().catch(() => undefined)
      throw new MeroError('LimitExceeded', `${url} is ${length} bytes, more than the ${maxBytes} an application may have`)
    }
    const meta = await blobs.add(res.body, 'user', maxBytes)
    return fromBase58(meta.blobId, 'blob id', 32)
  } catch (e) {
    if (e instanceof MeroError) throw e
    if (signal.aborted) throw new MeroError('Timeout', `downloading ${url} took more than ${timeoutMs} ms`)
    throw new MeroError('Unavailable', `cannot download ${url}: ${(e as Error).message}`)
  } finally {
    await dispatcher.close().catch(() => undefined)
  }
}
