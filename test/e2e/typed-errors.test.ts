import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RpcError } from '../../src/client/rpc-client.js'
import { Cluster } from '../helpers/cluster.js'
import { TestHome, waitFor } from '../helpers/harness.js'

/**
 * Issue 17, item 6: typed errors where an internal error or a crash trace came out before, with
 * real daemons: deeply nested params, application bytes gone from blobs/, a bad identity key,
 * and alias names "." and "..".
 */
describe('typed errors where internal errors and traces were', () => {
  const t = new TestHome()
  const c = new Cluster(t)

  beforeAll(async () => {
    await c.start('a')
    await c.start('b')
    await c.share('a', ['b'])
    await c.call('a', 'set', { key: 'k', value: 'v' })
    await waitFor(() => c.converged(['a', 'b']), 10_000)
  }, 90_000)

  afterAll(async () => {
    c.close()
    await t.cleanup()
  })

  /** POST /rpc of raw text (a 5,000-deep value cannot go through JSON.stringify). */
  function rawRpc(node: string, text: string): Promise<{ error?: { code: number; message: string; data?: { kind: string } }; result?: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: join(t.nodeDir(node), 'merod.sock'), path: '/rpc', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve(JSON.parse(body)))
      })
      req.on('error', reject)
      req.end(text)
    })
  }

  it('5,000-deep args are a typed invalid-params error over the socket and in meroctl, not -32603', async () => {
    const deep = '['.repeat(5_000) + ']'.repeat(5_000)
    const r = await rawRpc('a', `{"jsonrpc":"2.0","id":7,"method":"context.execute","params":{"context":"${c.contextId}","method":"set","args":{"key":"x","value":${deep}}}}`)
    expect(r.error).toEqual({ code: -32602, message: 'invalid params for context.execute: the params nest deeper than 128 levels of arrays and objects', data: { kind: 'InvalidParams' } })
    const cli = await t.cli(['call', c.contextId, 'set', '--args', `{"key":${deep}}`, '--node', 'a', '--json'])
    expect(cli.code).toBe(2)
    expect(JSON.parse(cli.stdout).error).toMatchObject({ kind: 'InvalidInput', message: '--args nests deeper than 128 levels of arrays and objects' })
    // and the daemon answers as before
    expect((await c.call('a', 'get', { key: 'k' })).result).toBe('v')
  })

  it('application bytes gone from blobs/: logged at start, a typed error for a call, fetched again from a peer', async () => {
    await c.stop('a')
    await c.stop('b')
    const blobs = join(t.nodeDir('b'), 'blobs')
    for (const d of readdirSync(blobs)) rmSync(join(blobs, d), { recursive: true })
    await c.start('b') // alone: A is down
    const log = () => readFileSync(join(t.nodeDir('b'), 'merod.log'), 'utf8')
    expect(log()).toMatch(new RegExp(`"applicationId":"${c.applicationId}".*"msg":"application bytes are missing from the blobs folder; fetching them again from peers"`))
    const e = await c.call('b', 'get', { key: 'k' }).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(RpcError)
    expect(e).toMatchObject({ code: 1308, kind: 'BlobContentMissing' })
    expect((e as Error).message).toMatch(new RegExp(`^the bytes of application ${c.applicationId} are missing from this node's blobs folder \\(chunk [0-9a-f]{16}… is not there\\)`))
    expect((e as Error).message).not.toMatch(/ENOENT|internal/i)
    await c.start('a')
    // both came back on new ephemeral ports: B learns A's address from the operator
    const a = await c.rpc.a!.call<{ peerId: string; listenAddresses: string[] }>('node.status')
    await t.json(['peers', 'connect', `${a.listenAddresses[0]}/p2p/${a.peerId}`, '--node', 'b'])
    await waitFor(async () => (await c.call('b', 'get', { key: 'k' }).catch(() => undefined))?.result === 'v', 20_000, 200)
    expect(log()).toMatch(/"msg":"application bytes fetched again from a peer"/)
  })

  it('a bad identity.key prints its message once, without a stack', async () => {
    await t.init('c')
    const key = join(t.nodeDir('c'), 'identity.key')
    for (const [body, message] of [
      ['not json\n', `the identity key at ${key} is not a valid mero key file`],
      ['{"type":"ed25519","privateKey":"0OIl","publicKey":"x"}\n', `the identity key at ${key} is not a valid mero key file: private key '0OIl' is not valid base58`],
    ] as const) {
      writeFileSync(key, body, { mode: 0o600 })
      const r = await t.cli(['node', 'start', '--node', 'c', '--json'])
      expect(r.code).toBe(1)
      const error = JSON.parse(r.stdout).error as { message: string }
      expect(error.message.split(message).length).toBe(2) // once
      expect(error.message).not.toMatch(/sonic boom|\n\s+at |Node\.js v/)
      expect(readFileSync(join(t.nodeDir('c'), 'merod.log'), 'utf8')).not.toMatch(/sonic boom|\n\s+at /)
    }
  })

  it('app.install with an empty url is invalid params naming the url, not an internal error', async () => {
    // (found by the RPC fuzzer: an empty url passed the schema and the handler read a blob id it did not have)
    await expect(c.rpc.a!.call('app.install', { url: '' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/url.*empty|empty.*url/) })
    await expect(c.rpc.a!.call('app.install', { url: '', blobId: '11111111111111111111111111111111' })).rejects.toMatchObject({ code: -32602 })
  })

  it('alias names "." and ".." are refused; names that merely contain dots are not', async () => {
    for (const name of ['.', '..']) {
      const r = await t.cli(['alias', 'create', name, c.contextId, '--kind', 'context', '--node', 'a', '--json'])
      expect(r.code).toBe(2)
      expect(JSON.parse(r.stdout).error.message).toMatch(/'alias': expected an alias: .*other than '\.' and '\.\.'/)
      await expect(c.rpc.a!.call('group.setAlias', { group: c.groupId, alias: name })).rejects.toMatchObject({ code: -32602 })
    }
    for (const name of ['...', 'a.b', '.hidden']) await t.json(['alias', 'create', name, c.contextId, '--kind', 'context', '--node', 'a'])
  })
})
