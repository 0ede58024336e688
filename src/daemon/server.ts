import { chmodSync, unlinkSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { eventMatches, type NodeEvent } from '../core/node/events.js'
import type { EventBus } from '../core/node/event-bus.js'
import { dispatch, errorResponse, INVALID_REQUEST, PARSE_ERROR, type DispatchHooks } from './jsonrpc.js'
import type { DaemonMetrics } from './metrics.js'
import type { MethodContext, MethodTable } from './methods/types.js'

export interface RpcServerOptions {
  socketPath: string
  methods: MethodTable
  context: MethodContext
  events: EventBus
  metrics: DaemonMetrics
  maxBodyBytes: number
  /** Raw (non-JSON-RPC) routes, e.g. streamed blob transfer; return false to fall through. */
  routes?: (url: URL, req: IncomingMessage, res: ServerResponse) => boolean
}

/** Largest backlog an /events subscriber may accumulate before it is cut off (slow consumer). */
const MAX_SSE_BACKLOG = 8 * 1024 * 1024

/**
 * The daemon's local API on a Unix socket (DESIGN §4): POST /rpc (JSON-RPC 2.0),
 * GET /events (server-sent events), GET /metrics (Prometheus text).
 */
export class RpcServer {
  private server?: Server
  private readonly sockets = new Set<Socket>()
  private readonly streams = new Set<ServerResponse>()
  private readonly hooks: DispatchHooks

  constructor(private readonly opts: RpcServerOptions) {
    this.hooks = {
      onCall: (method, outcome, seconds) => {
        const known = Object.hasOwn(opts.methods, method) ? method : 'unknown'
        opts.metrics.rpcRequests.inc({ method: known, outcome })
        if (outcome !== 'InvalidParams') opts.metrics.rpcDuration.observe({ method: known }, seconds)
      },
      onInternalError: (method, error) => opts.context.log.error({ err: error, method }, 'rpc handler failed'),
    }
  }

  async listen(): Promise<void> {
    const { socketPath } = this.opts
    try {
      unlinkSync(socketPath) // left by a daemon that died; the pid lock says none is alive
    } catch {
      // no stale socket
    }
    const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => this.route(req, res))
    server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    this.server = server
    const previous = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(socketPath, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } finally {
      process.umask(previous)
    }
    chmodSync(socketPath, 0o600)
  }

  async close(): Promise<void> {
    for (const res of this.streams) res.end()
    const server = this.server
    if (!server) return
    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const s of this.sockets) s.destroy()
    })
    try {
      unlinkSync(this.opts.socketPath)
    } catch {
      // already removed
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://merod')
    if (url.pathname === '/rpc') {
      if (req.method !== 'POST') return this.plain(res, 405, 'use POST for /rpc\n')
      return void this.handleRpc(req, res)
    }
    if (url.pathname === '/events' && req.method === 'GET') return this.handleEvents(url, req, res)
    if (url.pathname === '/metrics' && req.method === 'GET') return void this.handleMetrics(res)
    if (this.opts.routes?.(url, req, res)) return
    this.plain(res, 404, 'not found: the socket serves POST /rpc, GET /events, GET /metrics, POST /blobs and GET /blobs/<id>\n')
  }

  private plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text)
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
  }

  private async handleRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const limit = this.opts.maxBodyBytes
    const declared = Number(req.headers['content-length'] ?? NaN)
    if (declared > limit) {
      req.resume()
      res.setHeader('connection', 'close')
      return this.json(res, 413, errorResponse(null, INVALID_REQUEST, `invalid request: the body is ${declared} bytes, more than the ${limit} bytes allowed (rpc.max_body_bytes)`, 'InvalidRequest'))
    }
    const chunks: Buffer[] = []
    let size = 0
    let tooBig = false
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limit) {
        tooBig = true
        break
      }
      chunks.push(chunk)
    }
    if (tooBig) {
      res.setHeader('connection', 'close')
      this.json(res, 413, errorResponse(null, INVALID_REQUEST, `invalid request: the body is more than the ${limit} bytes allowed (rpc.max_body_bytes)`, 'InvalidRequest'))
      req.destroy()
      return
    }
    let body: unknown
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch (e) {
      return this.json(res, 200, errorResponse(null, PARSE_ERROR, `parse error: the body is not valid JSON (${(e as Error).message})`, 'ParseError'))
    }
    const out = await dispatch(body, this.opts.methods, this.opts.context, this.hooks)
    if (out === undefined) {
      res.writeHead(204).end()
      return
    }
    this.json(res, 200, out)
  }

  private handleEvents(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const filter = { groupId: url.searchParams.get('group') ?? undefined, contextId: url.searchParams.get('context') ?? undefined }
    const types = url.searchParams.get('types')?.split(',').filter(Boolean)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    res.write(': connected\n\n')
    this.streams.add(res)
    this.opts.metrics.eventSubscribers.inc()
    const send = (event: NodeEvent) => {
      if (types && !types.includes(event.type)) return
      if (event.type !== 'heartbeat' && event.type !== 'node.stopping' && !eventMatches(event, filter)) return
      if (res.writableLength > MAX_SSE_BACKLOG) {
        res.destroy() // a consumer that stopped reading must not grow the daemon's memory
        return
      }
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
    }
    const off = this.opts.events.on(send)
    const done = () => {
      if (!this.streams.delete(res)) return
      off()
      this.opts.metrics.eventSubscribers.dec()
    }
    req.on('close', done)
    res.on('close', done)
  }

  private async handleMetrics(res: ServerResponse): Promise<void> {
    const text = await this.opts.metrics.registry.metrics()
    res.writeHead(200, { 'content-type': this.opts.metrics.registry.contentType }).end(text)
  }
}
