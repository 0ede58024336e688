import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RpcClient } from '../../src/client/rpc-client.js'
import { CHUNK_SIZE } from '../../src/core/blobs/blob-store.js'
import type { MeroNode } from '../../src/core/node/node.js'
import { fromBase58 } from '../../src/core/primitives/encoding.js'
import { blobRoutes } from '../../src/daemon/blob-routes.js'
import { EventBus } from '../../src/core/node/event-bus.js'
import { MeroError } from '../../src/core/primitives/errors.js'
import { MAX_BATCH } from '../../src/daemon/jsonrpc.js'
import type { Logger } from '../../src/daemon/logging.js'
import { DaemonMetrics } from '../../src/daemon/metrics.js'
import type { MethodContext, MethodTable } from '../../src/daemon/methods/types.js'
import { RpcServer } from '../../src/daemon/server.js'
import { waitFor } from '../helpers/harness.js'
import { closeNodes, newNode } from '../core/context/helpers.js'

/**
 * The daemon's socket server in process, with a method table of the test's own: what it does with
 * a handler that fails unexpectedly (-32603), with batches at and past the limit, and with an
 * /events subscriber that stops reading.
 */
const methods: MethodTable = {
  'test.ok': { description: 'answers', params: z.object({ n: z.number().optional() }).strict(), handler: (p) => ({ n: (p as { n?: number }).n ?? 0 }) },
  'test.typed': { description: 'a typed failure', params: z.object({}).strict(), handler: () => Promise.reject(new MeroError('NotAuthorized', 'no')) },
  'test.boom': {
    description: 'a bug',
    params: z.object({}).strict(),
    handler: () => {
      const o = undefined as unknown as { x: number }
      return o.x // TypeError
    },
  },
}

let dir: string
let socket: string
let server: RpcServer
let events: EventBus
let metrics: DaemonMetrics
const logged: { obj: Record<string, unknown>; msg: string }[] = []

beforeEach(async () => {
  dir = mkdtempSync('/tmp/mero-rpc-')
  socket = join(dir, 's.sock')
  events = new EventBus()
  metrics = new DaemonMetrics()
  logged.length = 0
  const log = { error: (obj: Record<string, unknown>, msg: string) => logged.push({ obj, msg }) } as unknown as Logger
  server = new RpcServer({ socketPath: socket, methods, context: { log } as unknown as MethodContext, events, metrics, maxBodyBytes: 1 << 20 })
  await server.listen()
})

afterEach(async () => {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

function post(body: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: '/rpc', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }))
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

const call = (id: number, name: string, params: unknown = {}) => ({ jsonrpc: '2.0', id, method: name, params })

describe('RpcServer', () => {
  it('answers a handler that fails unexpectedly with -32603, naming the method, without a stack; logs it and counts it', async () => {
    const { json } = await post(call(7, 'test.boom'))
    expect(json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32603, message: expect.stringMatching(/^internal error in test\.boom: /), data: { kind: 'Internal' } } })
    expect(json.error.message).not.toMatch(/\n\s+at /)
    expect(logged).toEqual([{ obj: expect.objectContaining({ method: 'test.boom', err: expect.any(TypeError) }), msg: 'rpc handler failed' }])
    expect(await metrics.registry.metrics()).toMatch(/merod_rpc_requests_total\{method="test.boom",outcome="Internal"\} 1/)
    // a typed failure is no internal error: its own code and kind, nothing logged
    const typed = await post(call(8, 'test.typed'))
    expect(typed.json.error).toMatchObject({ code: new MeroError('NotAuthorized', '').code, data: { kind: 'NotAuthorized' } })
    expect(logged).toHaveLength(1)
    // and the server goes on serving
    expect((await post(call(9, 'test.ok', { n: 1 }))).json).toMatchObject({ id: 9, result: { n: 1 } })
  })

  it(`serves a batch of ${MAX_BATCH} calls, one answer each, and refuses one more call as a whole with -32600`, async () => {
    const full = Array.from({ length: MAX_BATCH }, (_, i) => (i === 500 ? call(i, 'test.boom') : call(i, 'test.ok', { n: i })))
    const answered = (await post(full)).json as { id: number; result?: { n: number }; error?: { code: number } }[]
    expect(answered).toHaveLength(MAX_BATCH)
    expect(answered.filter((r) => r.error).map((r) => [r.id, r.error!.code])).toEqual([[500, -32603]])
    expect(answered.filter((r) => r.result).every((r) => r.result!.n === r.id)).toBe(true)
    const over = await post([...full, call(MAX_BATCH, 'test.ok')])
    expect(over.json).toMatchObject({ id: null, error: { code: -32600, message: `invalid request: a batch holds at most ${MAX_BATCH} calls` } })
    // none of the refused batch ran
    expect(await metrics.registry.metrics()).toMatch(/merod_rpc_requests_total\{method="test.ok",outcome="ok"\} 999\n/)
  })

  it('cuts off an /events subscriber that stops reading, and keeps streaming to one that reads', async () => {
    const client = new RpcClient(socket, { timeoutMs: 10_000 })
    const abort = new AbortController()
    const fast: { seq: number }[] = []
    const reading = client.events({}, (e) => fast.push(e as never), abort.signal)
    // a subscriber that sends its request and never reads a byte of the answer
    const slow = connect(socket)
    let slowClosed = false
    slow.on('close', () => (slowClosed = true))
    slow.on('error', () => undefined)
    slow.write('GET /events HTTP/1.1\r\nHost: merod\r\n\r\n')
    slow.pause()
    const subscribers = async () => Number(/^merod_event_subscribers (\d+)$/m.exec(await metrics.registry.metrics())?.[1])
    try {
      await waitFor(async () => (await subscribers()) === 2, 5_000)
      // 256 KiB events, one a turn, until the slow one's backlog passes the server's bound (8 MiB)
      const big = 'x'.repeat(256 * 1024)
      let sent = 0
      for (; sent < 200 && (await subscribers()) === 2; sent++) {
        events.emit({ type: 'context.state.mutated', contextId: 'c', groupId: 'g', rootHash: 'r', deltaId: 'd', events: [{ kind: 'Big', data: big }] })
        await new Promise((r) => setImmediate(r))
      }
      expect(await subscribers()).toBe(1)
      // counted, once
      expect(await metrics.registry.metrics()).toMatch(/^merod_event_subscribers_cut_off_total 1$/m)
      expect(sent).toBeGreaterThan(8 * 4) // at least the bound's worth went out before the cut
      expect(sent).toBeLessThan(200)
      slow.resume() // what it had buffered drains, then the stream ends: cut off, not slow
      await waitFor(() => slowClosed, 5_000)
      // the reader got every event, and still gets the next one
      await waitFor(() => fast.filter((e) => (e as unknown as { type: string }).type === 'context.state.mutated').length === sent, 10_000)
      events.emit({ type: 'context.state.mutated', contextId: 'c', groupId: 'g', rootHash: 'r', deltaId: 'after', events: [] })
      await waitFor(() => fast.length === sent + 1, 5_000)
    } finally {
      abort.abort()
      await reading.catch(() => undefined)
      client.close()
      slow.destroy()
    }
  })
})

describe('POST /blobs', () => {
  it('an upload cut off mid-stream stores no blob and leaves no chunk file behind; a whole one after it is stored', async () => {
    const node = await newNode()
    const blobsDir = join(dirOf(node), 'blobs')
    const uploads = new RpcServer({ socketPath: join(dir, 'b.sock'), methods, context: { log: { error: () => undefined } } as unknown as MethodContext, events, metrics, maxBodyBytes: 1 << 20, routes: blobRoutes(node) })
    await uploads.listen()
    try {
      const content = randomBytes(3 * CHUNK_SIZE + 100)
      // 2.5 MiB of 3 MiB sent, then the client goes away: two whole chunks were written by then
      const cut = connect(join(dir, 'b.sock'))
      await new Promise<void>((r) => cut.once('connect', () => r()))
      cut.write(`POST /blobs HTTP/1.1\r\nHost: merod\r\nContent-Length: ${content.length}\r\n\r\n`)
      await new Promise<void>((r) => cut.write(content.subarray(0, 2.5 * CHUNK_SIZE), () => r()))
      await waitFor(() => chunkFiles(blobsDir).length >= 2, 5_000) // the daemon stored the whole chunks it had
      cut.destroy()
      await waitFor(() => chunkFiles(blobsDir).length === 0, 5_000)
      expect(node.blobs.list()).toEqual([])
      // a whole upload of the same content
      const whole = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ socketPath: join(dir, 'b.sock'), path: '/blobs', method: 'POST' }, (res) => {
          let text = ''
          res.on('data', (d) => (text += d))
          res.on('end', () => resolve({ status: res.statusCode!, body: text }))
        })
        req.on('error', reject)
        req.end(content)
      })
      expect(whole.status).toBe(200)
      expect(JSON.parse(whole.body)).toMatchObject({ size: content.length, chunks: 4 })
      expect((await node.blobs.readAll(fromBase58(JSON.parse(whole.body).blobId))).equals(content)).toBe(true)
      expect(chunkFiles(blobsDir)).toHaveLength(4)
    } finally {
      await uploads.close()
      await closeNodes()
    }
  })
})

function chunkFiles(blobsDir: string): string[] {
  if (!existsSync(blobsDir)) return []
  return readdirSync(blobsDir).flatMap((d) => readdirSync(join(blobsDir, d)))
}

function dirOf(node: MeroNode): string {
  return dirname(node.store.location)
}
