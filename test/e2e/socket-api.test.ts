import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RpcError } from '../../src/client/rpc-client.js'
import { TestHome, waitFor } from '../helpers/harness.js'

/** The daemon's socket API (DESIGN §4) against a real merod: each kind of bad input, then it still serves. */
describe('socket API', () => {
  const t = new TestHome()
  let socket: string

  beforeAll(async () => {
    await t.init()
    t.editConfig('default', (c) => c.replace(/max_body_bytes = \d+/, 'max_body_bytes = 65536').replace(/heartbeat_secs = \d+\n(?=\n\[log\])/, 'heartbeat_secs = 1\n'))
    socket = (await t.start()).socket
  })
  afterAll(async () => {
    await t.cleanup()
  })

  function raw(body: string | Buffer, path = '/rpc', method = 'POST'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: socket, path, method, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = ''
        res.on('data', (d) => (text += d))
        res.on('end', () => resolve({ status: res.statusCode!, body: text }))
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  async function stillServes(): Promise<void> {
    const client = t.rpc()
    try {
      expect((await client.call<{ pid: number }>('node.status')).pid).toBeGreaterThan(0)
    } finally {
      client.close()
    }
  }

  it('answers malformed JSON with -32700', async () => {
    const r = await raw('{"jsonrpc": "2.0", "method": ')
    expect(JSON.parse(r.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringMatching(/not valid JSON/) } })
    await stillServes()
  })

  it('answers an unknown method with -32601 naming it', async () => {
    const r = JSON.parse((await raw(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'group.frobnicate' }))).body)
    expect(r).toMatchObject({ id: 7, error: { code: -32601, message: expect.stringMatching(/'group.frobnicate'/) } })
    await stillServes()
  })

  it('answers wrong parameters with -32602 naming the field', async () => {
    const client = t.rpc()
    try {
      await expect(client.call('node.status', { verbose: true })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/unknown parameter 'verbose'/) })
      const positional = JSON.parse((await raw(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node.status', params: [1, 2] }))).body)
      expect(positional.error).toMatchObject({ code: -32602, message: expect.stringMatching(/params must be an object/) })
    } finally {
      client.close()
    }
    await stillServes()
  })

  it('answers requests that are not JSON-RPC 2.0 with -32600', async () => {
    for (const body of ['5', '{"id":1,"method":"node.status"}', '{"jsonrpc":"2.0","id":{},"method":"node.status"}', '[]']) {
      const r = JSON.parse((await raw(body)).body)
      expect(r.error.code, body).toBe(-32600)
    }
    await stillServes()
  })

  it('refuses an oversized body with -32600 and HTTP 413', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node.status', params: { pad: 'x'.repeat(200_000) } })
    const r = await raw(big)
    expect(r.status).toBe(413)
    expect(JSON.parse(r.body).error).toMatchObject({ code: -32600, message: expect.stringMatching(/more than the 65536 bytes allowed/) })
    await stillServes()
  })

  it('serves a batch, omitting notifications, with one error per bad entry', async () => {
    const r = JSON.parse(
      (
        await raw(
          JSON.stringify([
            { jsonrpc: '2.0', id: 1, method: 'node.status' },
            { jsonrpc: '2.0', method: 'node.status' },
            { jsonrpc: '2.0', id: 2, method: 'nope' },
            42,
          ]),
        )
      ).body,
    )
    expect(r).toHaveLength(3)
    expect(r[0]).toMatchObject({ id: 1, result: { nodeName: 'default' } })
    expect(r[1]).toMatchObject({ id: 2, error: { code: -32601 } })
    expect(r[2]).toMatchObject({ id: null, error: { code: -32600 } })
  })

  it('lists its methods with rpc.discover', async () => {
    const client = t.rpc()
    try {
      const { methods } = await client.call<{ methods: { name: string }[] }>('rpc.discover')
      expect(methods.map((m) => m.name)).toEqual(expect.arrayContaining(['node.status', 'node.stop', 'rpc.discover']))
    } finally {
      client.close()
    }
  })

  it('streams heartbeat events on /events', async () => {
    const client = t.rpc()
    const abort = new AbortController()
    const events: { type: string; seq: number; ts: number }[] = []
    const done = client.events({}, (e) => events.push(e as never), abort.signal)
    try {
      await waitFor(() => events.filter((e) => e.type === 'heartbeat').length >= 2, 5_000)
      const [a, b] = events
      expect(b!.seq).toBeGreaterThan(a!.seq)
      expect(a).toMatchObject({ type: 'heartbeat', uptimeMs: expect.any(Number), peers: expect.any(Number) })
    } finally {
      abort.abort()
      await done
      client.close()
    }
  })

  it('serves Prometheus metrics that count RPC outcomes', async () => {
    const client = t.rpc()
    try {
      const text = await client.get('/metrics')
      expect(text).toMatch(/merod_rpc_requests_total\{method="node.status",outcome="ok"\} \d+/)
      expect(text).toMatch(/merod_rpc_requests_total\{method="node.status",outcome="InvalidParams"\} \d+/)
      expect(text).toMatch(/merod_process_resident_memory_bytes \d+/)
    } finally {
      client.close()
    }
  })

  it('rejects RPC errors as typed RpcError objects on the client', async () => {
    const client = t.rpc()
    try {
      const e = await client.call('nope').catch((x) => x)
      expect(e).toBeInstanceOf(RpcError)
      expect(e.kind).toBe('MethodNotFound')
    } finally {
      client.close()
    }
  })
})
