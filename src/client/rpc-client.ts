import { Agent, request, type IncomingMessage } from 'node:http'
import type { RpcMethod, RpcParams, RpcResult } from '../api/methods.js'
import { formatMs } from '../core/primitives/human.js'

/**
 * JSON-RPC 2.0 over HTTP/1.1 on the daemon's Unix socket, with node:http (built in: undici's
 * import alone costs ~95 ms, a third of meroctl's start-up budget).
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly kind: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'RpcError'
  }
}

/** The daemon does not answer on its socket (not running, or gone mid-call). */
export class ConnectionError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause })
    this.name = 'ConnectionError'
  }
}

/** The daemon did not answer within the client's timeout (`--timeout`). */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TimeoutError'
  }
}

export interface RpcClientOptions {
  /** Per-call timeout; 0 disables it. */
  timeoutMs?: number
  /** Connections to the daemon at most [64]; script mode uses one. */
  connections?: number
}

let nextId = 1

export class RpcClient {
  private readonly agent: Agent
  private readonly timeoutMs: number

  constructor(
    readonly socketPath: string,
    opts: RpcClientOptions = {},
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.connections ?? 64 })
    this.timeoutMs = opts.timeoutMs ?? 120_000
  }

  /** Calls a method of the daemon's contract (api/methods.ts), or any method by name (tests, `watch`). */
  call<M extends RpcMethod>(method: M, params?: RpcParams<M>): Promise<RpcResult<M>>
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>
  async call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = nextId++
    const res = (await this.post({ jsonrpc: '2.0', id, method, params })) as { result?: unknown; error?: { code: number; message: string; data?: { kind?: string } } }
    if (res.error) throw new RpcError(res.error.code, res.error.message, res.error.data?.kind ?? 'Internal', res.error.data)
    return res.result
  }

  /** Raw POST /rpc of any body; resolves with the parsed response (for tests and batches). */
  post(body: unknown): Promise<unknown> {
    const payload = Buffer.from(JSON.stringify(body))
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, path: '/rpc', method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
        (res) => {
          readBody(res).then((text) => {
            if (res.statusCode === 204) return resolve(undefined)
            try {
              resolve(JSON.parse(text))
            } catch {
              reject(new ConnectionError(`the daemon sent an unreadable response (HTTP ${res.statusCode})`))
            }
          }, reject)
        },
      )
      if (this.timeoutMs) {
        req.setTimeout(this.timeoutMs, () => req.destroy(new TimeoutError(`no answer from the daemon within ${formatMs(this.timeoutMs)} (the call may still complete there)`)))
      }
      req.on('error', (e) => reject(e instanceof ConnectionError || e instanceof TimeoutError ? e : new ConnectionError(`cannot reach the daemon at ${this.socketPath}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, e)))
      req.end(payload)
    })
  }

  /** GET a plain-text endpoint such as /metrics. */
  get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method: 'GET', agent: this.agent }, (res) => readBody(res).then(resolve, reject))
      req.on('error', (e) => reject(new ConnectionError(`cannot reach the daemon at ${this.socketPath}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, e)))
      req.end()
    })
  }

  /** Streams a readable (a file) to POST /blobs; resolves with the stored blob's id and size. */
  upload(source: NodeJS.ReadableStream): Promise<{ blobId: string; size: number; chunks: number }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path: '/blobs', method: 'POST', agent: this.agent, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        readBody(res).then((text) => {
          const body = JSON.parse(text)
          if (res.statusCode !== 200) reject(new RpcError(0, body.error?.message ?? `upload failed (HTTP ${res.statusCode})`, body.error?.kind ?? 'Internal'))
          else resolve(body)
        }, reject)
      })
      req.on('error', (e) => reject(new ConnectionError(`cannot reach the daemon at ${this.socketPath}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, e)))
      source.on('error', (e) => req.destroy(e))
      source.pipe(req)
    })
  }

  /**
   * Streams GET /blobs/<id> into `sink` (fetched from `context`'s peers when the node lacks it);
   * resolves with the byte count. `onProgress` hears the bytes so far and the total.
   */
  download(blobId: string, sink: NodeJS.WritableStream, opts: { context?: string; onProgress?: (bytes: number, total?: number) => void } = {}): Promise<number> {
    const { context, onProgress } = opts
    return new Promise((resolve, reject) => {
      const path = `/blobs/${encodeURIComponent(blobId)}${context ? `?context=${encodeURIComponent(context)}` : ''}`
      const req = request({ socketPath: this.socketPath, path, method: 'GET', agent: this.agent }, (res) => {
        if (res.statusCode !== 200) {
          readBody(res).then((text) => {
            let body: { error?: { kind?: string; message?: string } } = {}
            try {
              body = JSON.parse(text)
            } catch {
              // not JSON
            }
            reject(new RpcError(0, body.error?.message ?? `download failed (HTTP ${res.statusCode})`, body.error?.kind ?? 'Internal'))
          }, reject)
          return
        }
        let n = 0
        const total = Number(res.headers['content-length']) || undefined
        res.on('data', (c: Buffer) => {
          n += c.length
          onProgress?.(n, total)
        })
        res.pipe(sink)
        res.on('end', () => resolve(n))
        res.on('error', reject)
      })
      req.on('error', (e) => reject(new ConnectionError(`cannot reach the daemon at ${this.socketPath}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, e)))
      req.end()
    })
  }

  /**
   * Streams GET /events. Calls `onEvent` for each event; resolves when the stream ends (daemon
   * stopped) or `signal` aborts; rejects when the daemon cannot be reached.
   */
  events(query: { group?: string; context?: string; types?: string[] }, onEvent: (event: Record<string, unknown> & { type: string }) => void, signal?: AbortSignal, onOpen?: () => void): Promise<void> {
    const params = new URLSearchParams()
    if (query.group) params.set('group', query.group)
    if (query.context) params.set('context', query.context)
    if (query.types?.length) params.set('types', query.types.join(','))
    const path = `/events${params.size ? `?${params}` : ''}`
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return resolve()
      const req = request({ socketPath: this.socketPath, path, method: 'GET', signal }, (res) => {
        onOpen?.()
        res.setEncoding('utf8')
        let buffer = ''
        res.on('data', (chunk: string) => {
          buffer += chunk
          let end: number
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const frame = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const data = frame
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n')
            if (!data) continue
            try {
              onEvent(JSON.parse(data))
            } catch {
              // a malformed frame is skipped, the stream goes on
            }
          }
        })
        res.on('end', () => resolve())
        res.on('close', () => resolve())
        res.on('error', () => resolve())
      })
      req.on('error', (e) => {
        if (signal?.aborted) resolve()
        else reject(new ConnectionError(`cannot reach the daemon at ${this.socketPath}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, e))
      })
      req.end()
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    res.on('error', reject)
  })
}
