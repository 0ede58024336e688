import { chmodSync, unlinkSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { eventMatches, type NodeEvent } from '../core/node/events.js'
import type { EventBus } from '../core/node/event-bus.js'
import { dispatch, errorResponse, INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, type DispatchHooks } from './jsonrpc.js'
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
/** Events queued for one stream within one event-loop turn; past this the consumer is cut off. */
const MAX_SSE_TURN_EVENTS = 100_000

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
    // the labelled children are looked up once per method and outcome (prom-client hashes the
    // labels on every inc/observe otherwise)
    const counters = new Map<string, { inc(): void }>()
    const histograms = new Map<string, { observe(v: number): void }>()
    this.hooks = {
      onCall: (method, outcome, seconds) => {
        const known = Object.hasOwn(opts.methods, method) ? method : 'unknown'
        const key = `${known}\0${outcome}`
        let counter = counters.get(key)
        if (!counter) counters.set(key, (counter = opts.metrics.rpcRequests.labels({ method: known, outcome })))
        counter.inc()
        if (outcome !== 'InvalidParams') {
          let histogram = histograms.get(known)
          if (!histogram) histograms.set(known, (histogram = opts.metrics.rpcDuration.labels({ method: known })))
          histogram.observe(seconds)
        }
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
    if (req.url === '/rpc' && req.method === 'POST') return void this.handleRpc(req, res) // the hot path: no URL parse
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
    let text: string
    try {
      text = JSON.stringify(body)
    } catch (e) {
      // a result that cannot be written as JSON (nested too deeply): the caller still gets an answer
      const id = Array.isArray(body) ? null : ((body as { id?: string | number | null })?.id ?? null)
      text = JSON.stringify(errorResponse(id, INTERNAL_ERROR, `internal error: the result cannot be written as JSON (${(e as Error).message})`, 'Internal'))
    }
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
    let raw: Buffer | undefined
    try {
      raw = await readBody(req, limit)
    } catch {
      res.destroy() // the client aborted mid-body: nobody is left to answer
      return
    }
    if (raw === undefined) {
      res.setHeader('connection', 'close')
      this.json(res, 413, errorResponse(null, INVALID_REQUEST, `invalid request: the body is more than the ${limit} bytes allowed (rpc.max_body_bytes)`, 'InvalidRequest'))
      req.destroy()
      return
    }
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
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
    // the events of one event-loop turn are written together at its end: emitting stays cheap
    // for the code that emits (a call's commit, a delta's apply), one write per turn
    let queued: NodeEvent[] = []
    const flush = () => {
      const events = queued
      queued = []
      if (res.destroyed || events.length === 0) return
      res.write(events.map((e) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''))
    }
    const send = (event: NodeEvent) => {
      if (types && !types.includes(event.type)) return
      if (event.type !== 'heartbeat' && event.type !== 'node.stopping' && !eventMatches(event, filter)) return
      if (res.destroyed) return
      if (res.writableLength > MAX_SSE_BACKLOG || queued.length >= MAX_SSE_TURN_EVENTS) {
        res.destroy() // a consumer that stopped reading must not grow the daemon's memory
        this.opts.metrics.eventSubscribersCutOff.inc()
        return
      }
      if (queued.length === 0 && event.type !== 'node.stopping') setImmediate(flush)
      queued.push(event)
      if (event.type === 'node.stopping') flush() // the server closes next
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

/**
 * The request body, or undefined once it passes `limit` bytes (the rest is not read). Plain
 * 'data'/'end' listeners: an async iterator over the request cost more than parsing a small call.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
    }
    const onError = (e: Error) => {
      cleanup()
      reject(e)
    }
    // the client went away before the body was complete
    const onClose = () => {
      cleanup()
      reject(new Error('the request was aborted'))
    }
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}
