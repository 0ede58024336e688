import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { allMethods } from '../../src/daemon/methods/index.js'
import { Cluster } from '../helpers/cluster.js'
import { TestHome } from '../helpers/harness.js'

/**
 * Issue 17, item 8: a JSON-RPC fuzzer over every method the daemon serves, at least 10,000
 * requests a run (single requests, batches and raw bodies). Every answer is a well-formed
 * JSON-RPC response with a typed error (parse, request, method, params, or an application kind;
 * never -32603 internal), no mutating method succeeds, and afterwards the daemon still answers
 * and its state (groups, contexts, applications, aliases, blobs, invitations) is unchanged.
 */
const MIN_REQUESTS = 10_000
/** kv-store's methods: the views may run on the real context; the others never reach it. */
const KV_VIEWS = ['get', 'entries', 'len']
const KV_WRITES = ['init', 'set', 'remove', 'clear']
const DEEP = '__5000_deep__'
const deepen = (body: string) => body.replaceAll(JSON.stringify(DEEP), '['.repeat(5_000) + ']'.repeat(5_000))

/** Methods that read: they get the node's real ids and names too, and may succeed. */
const READS = new Set([
  'alias.get', 'alias.list', 'app.get', 'app.list', 'blob.get', 'blob.list', 'context.allowlist', 'context.get', 'context.list', 'group.get', 'group.getCapabilities',
  'group.inspectInvitation', 'group.list', 'group.listInvitations', 'group.members', 'group.ops', 'node.status', 'peers.list', 'rpc.discover', 'context.sync', 'group.sync',
])
/**
 * Methods whose every parameter is optional, or that act outside the node (files, the network,
 * the process): their params always carry an unknown key, which every schema refuses.
 */
const ALWAYS_REFUSED = new Set(['group.create', 'alias.create', 'blob.add', 'node.stop', 'node.backup', 'peers.connect', 'group.join'])
const FIELDS = [
  'group', 'context', 'identity', 'identities', 'alias', 'kind', 'id', 'application', 'role', 'grant', 'revoke', 'method', 'args', 'params', 'visibility', 'token', 'op', 'limit',
  'force', 'blobId', 'source', 'add', 'remove', 'invitation', 'expiresInSecs', 'address', 'dir', 'path',
]

describe('RPC fuzzing', () => {
  const t = new TestHome()
  const c = new Cluster(t)
  let real: string[] = []

  beforeAll(async () => {
    await c.start('a')
    await c.share('a', [])
    await c.call('a', 'set', { key: 'k', value: 'v' })
    await t.json(['alias', 'create', 'notes', c.contextId, '--kind', 'context', '--node', 'a'])
    await c.rpc.a!.call('group.createInvitation', { group: c.groupId })
    real = [c.groupId, c.contextId, c.applicationId, c.identities.a!, 'notes', 'context', 'group', 'application', 'identity', 'get', 'entries', 'len', 'member', 'admin', 'open']
  }, 60_000)

  afterAll(async () => {
    c.close()
    await t.cleanup()
  })

  /** Everything the fuzzer must not change. */
  async function fingerprint(): Promise<unknown> {
    const rpc = c.rpc.a!
    const groups = await rpc.call<{ groups: { groupId: string }[] }>('group.list')
    return {
      groups: await Promise.all(groups.groups.map((g) => rpc.call('group.get', { group: g.groupId }))),
      invitations: await rpc.call('group.listInvitations'),
      contexts: (await rpc.call<{ contexts: { contextId: string; rootHash: string; deltas: number; heads: string[] }[] }>('context.list')).contexts.map(({ contextId, rootHash, deltas, heads }) => ({ contextId, rootHash, deltas, heads })),
      apps: await rpc.call('app.list'),
      aliases: await rpc.call('alias.list'),
      blobs: await rpc.call('blob.list'),
    }
  }

  function post(body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: join(t.nodeDir('a'), 'merod.sock'), path: '/rpc', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = ''
        res.on('data', (d) => (text += d))
        res.on('end', () => resolve({ status: res.statusCode!, text }))
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  it(`answers ${MIN_REQUESTS}+ fuzzed requests over every method with typed errors, and nothing changes`, async () => {
    const methods = (await c.rpc.a!.call<{ methods: { name: string }[] }>('rpc.discover')).methods.map((m) => m.name)
    expect(methods.length).toBeGreaterThan(50)
    // each method's parameter names, from its schema
    const shapes = Object.fromEntries(Object.entries(allMethods()).map(([name, def]) => [name, Object.keys((def.params as unknown as { shape?: object }).shape ?? {})]))
    expect(Object.keys(shapes).sort()).toEqual([...methods].sort())
    const before = await fingerprint()

    const junkId = fc.oneof(fc.constant(null).map(() => toBase58(randomBytes(32))), fc.constant(null).map(() => randomBytes(32).toString('hex')))
    const leaf = (reads: boolean) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
        { weight: 3, arbitrary: junkId },
        { weight: reads ? 4 : 0, arbitrary: fc.constantFrom(...real) },
        { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)) },
        { weight: 1, arbitrary: fc.string({ minLength: 2000, maxLength: 12_000 }) },
        { weight: 1, arbitrary: fc.constantFrom('.', '..', '', ' ', '\u0000', '../../etc/passwd', '/tmp', '/ip4/127.0.0.1/tcp/1/p2p/x', 'mero-inv1-zz', '-1', '1e309') },
        // becomes 5,000 nested arrays in the body's text (JSON.stringify cannot write them)
        { weight: 1, arbitrary: fc.constant(DEEP) },
      )
    const value = (reads: boolean) => fc.oneof({ weight: 5, arbitrary: leaf(reads) }, { weight: 1, arbitrary: fc.array(leaf(reads), { maxLength: 4 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) })
    const params = (method: string) => {
      if (method === 'context.execute') {
        // the real context too, with the application's read-only methods (or names it lacks)
        const name = fc.oneof(fc.constantFrom(...KV_VIEWS), fc.string({ maxLength: 20 }).filter((m) => !KV_WRITES.includes(m)), fc.constant(DEEP))
        return fc.record({ context: fc.oneof(fc.constant(c.contextId), junkId, fc.string({ maxLength: 10 })), method: name, args: value(true) }, { requiredKeys: [] })
      }
      const reads = READS.has(method)
      const own = shapes[method] ?? []
      // mostly the method's own parameters, so that the handlers see the values, not the schema
      const fitted = fc.record(Object.fromEntries(own.map((k) => [k, value(reads)])), { requiredKeys: [] })
      const loose = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), value(reads), { maxKeys: 5 })
      const obj = own.length ? fc.oneof({ weight: 3, arbitrary: fitted }, { weight: 1, arbitrary: loose }) : loose
      if (ALWAYS_REFUSED.has(method)) return obj.map((o) => ({ ...o, __fuzz: true }))
      return fc.oneof({ weight: 8, arbitrary: obj }, { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)) })
    }
    const call = fc.constantFrom(...methods, 'nope', 'node', '', 'rpc.discover.x', '__proto__', 'constructor').chain((method) =>
      fc.record({ method: fc.constant(method), params: methods.includes(method) ? params(method) : fc.jsonValue({ maxDepth: 2 }), idKind: fc.nat({ max: 9 }), broken: fc.nat({ max: 19 }) }),
    )
    // ids unique within a batch (a number or a string), so that each answer is matched to its
    // request; some null (answered, unattributed) and some absent (notifications: no answer)
    const requestOf = (r: { method: string; params: unknown; idKind: number; broken: number }, i: number): Record<string, unknown> => {
      const id = r.idKind < 5 ? 1_000_000 + i : r.idKind < 8 ? `r${i}` : r.idKind === 8 ? null : undefined
      const envelope = id === undefined ? {} : { id }
      // one in twenty is a malformed envelope: no version, a non-string method, an object id
      if (r.broken === 0) return { jsonrpc: '1.0', method: r.method, ...envelope }
      if (r.broken === 1) return { jsonrpc: '2.0', method: 42, ...envelope }
      if (r.broken === 2) return { jsonrpc: '2.0', method: r.method, id: { x: i } }
      return { jsonrpc: '2.0', method: r.method, params: r.params, ...envelope }
    }

    let sent = 0
    const outcomes = new Map<string, number>()
    const check = (req: { method?: unknown }, res: { jsonrpc?: string; result?: unknown; error?: { code: number; message: string; data?: { kind?: string } } }) => {
      expect(res.jsonrpc).toBe('2.0')
      if (res.error) {
        expect(res.error.code, `${String(req.method)}: ${res.error.message}`).not.toBe(-32603)
        expect([-32700, -32600, -32601, -32602].includes(res.error.code) || res.error.code >= 1000).toBe(true)
        expect(typeof res.error.message).toBe('string')
        expect(res.error.message).not.toMatch(/\n\s+at |TypeError|RangeError|Cannot read prop|undefined is not/)
        outcomes.set(String(res.error.data?.kind), (outcomes.get(String(res.error.data?.kind)) ?? 0) + 1)
      } else {
        const p = (req as { params?: { method?: unknown } }).params
        const view = req.method === 'context.execute' && KV_VIEWS.includes(String(p?.method))
        expect(READS.has(String(req.method)) || view, `${String(req.method)} succeeded with ${JSON.stringify(p)?.slice(0, 300)}`).toBe(true)
        outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1)
      }
    }

    const property = fc.asyncProperty(fc.oneof({ weight: 6, arbitrary: fc.array(call, { minLength: 20, maxLength: 80 }) }, { weight: 1, arbitrary: fc.array(call, { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('{', '[]', '[1,2]', '{"jsonrpc":"2.0"}', 'null', '"x"', '{"jsonrpc":"2.0","method":"node.status","id":1')) }), async (input) => {
        if (typeof input === 'string') {
          sent++
          const { status, text } = await post(input)
          expect(status).toBeLessThan(500)
          if (!text) return
          const res = JSON.parse(text) as unknown
          for (const r of Array.isArray(res) ? res : [res]) {
            expect((r as { error?: unknown }).error, `a raw body ${JSON.stringify(input).slice(0, 80)} succeeded`).toBeDefined()
            check({}, r as never)
          }
          return
        }
        const reqs = input.map((r, i) => requestOf(r, i))
        sent += reqs.length
        const body = deepen(reqs.length === 1 ? JSON.stringify(reqs[0]) : JSON.stringify(reqs))
        const { status, text } = await post(body)
        expect(status).toBe(text ? 200 : 204)
        if (!text) return
        const res = JSON.parse(text) as unknown
        const responses = (Array.isArray(res) ? res : [res]) as { id?: unknown }[]
        for (const r of responses) {
          const req = r.id === null || r.id === undefined ? {} : reqs.find((q) => q.id === r.id)
          expect(req, `an answer to no request: ${JSON.stringify(r).slice(0, 200)}`).toBeDefined()
          if (r.id === null && !(r as { error?: unknown }).error) continue // an unattributed success: the fingerprint covers it
          check(req ?? {}, r as never)
        }
      })
    // rounds of fresh runs until the fuzzer has sent its quota (a run's size is random); bounded
    for (let round = 0; round < 20 && sent < MIN_REQUESTS; round++) await fc.assert(property, { numRuns: 200 })
    expect(sent).toBeGreaterThanOrEqual(MIN_REQUESTS)
    // the application errors were reached, not only the schema checks
    expect(outcomes.get('InvalidParams')).toBeGreaterThan(1000)
    expect([...outcomes.keys()].filter((k) => /NotFound/.test(k)).length).toBeGreaterThanOrEqual(3)
    expect(outcomes.get('ok')).toBeGreaterThan(100)

    expect((await c.rpc.a!.call<{ identity: string }>('node.status')).identity).toBe(c.identities.a)
    expect(await fingerprint()).toEqual(before)
    expect((await c.call('a', 'get', { key: 'k' })).result).toBe('v')
  }, 180_000)
})
