import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { TestHome } from '../helpers/harness.js'

const someone = () => toBase58(generateKeyPair().publicKey)
const lines = (s: string) => s.trimEnd().split('\n').map((l) => JSON.parse(l))

/** Script mode, the default node, config get/set, call --timeout (issue 18, item 8). */
describe('scripts at speed', () => {
  const t = new TestHome()
  let contextId: string
  let pid: number

  beforeAll(async () => {
    await t.init()
    pid = (await t.start()).pid
    await t.json(['group', 'create', '--alias', 'team'])
    await t.json(['app', 'install', 'apps/kv-store/build/kv-store.wasm', '--alias', 'kv'])
    contextId = (await t.json(['context', 'create', '--group', 'team', '--app', 'kv', '--alias', 'notes'])).contextId
  }, 60_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('call --batch: one answer line per input line, in order, each what call --json prints; errors never stop it', async () => {
    const input = [
      { context: 'notes', method: 'set', args: { key: 'a', value: '1' } },
      'this is not JSON',
      { context: 'notes', method: 'no_such_method', args: {} },
      { context: 'nowhere', method: 'get', args: { key: 'a' } },
      { context: contextId, method: 'get', args: { key: 'a' } },
      { context: 'notes', method: 'get', args: { key: 'a' }, extra: 1 },
      { context: 'notes', method: 'len' },
      { context: 'notes', method: 'set', args: { key: 'b', value: '1' } },
      { context: 'notes', method: 'set', args: { key: 'b', value: '2' } },
      { context: 'notes', method: 'get', args: { key: 'b' } },
    ]
      .map((l) => (typeof l === 'string' ? l : JSON.stringify(l)))
      .join('\n')
    const r = await t.cli(['call', '--batch', '-'], { input: `${input}\n` })
    expect(r.code).toBe(1) // some lines failed
    const out = lines(r.stdout)
    expect(out).toHaveLength(10)
    expect(out[0]).toMatchObject({ result: null, rootHash: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(out[1].error).toMatchObject({ kind: 'InvalidInput', code: 1000, message: expect.stringMatching(/^line 2: not valid JSON/) })
    expect(out[2].error).toMatchObject({ kind: 'MethodNotFound', code: expect.any(Number) })
    expect(out[3].error).toMatchObject({ kind: 'AliasNotFound', code: 1307 })
    expect(out[5].error.message).toMatch(/line 6: unknown field 'extra'/)
    // the same document as call --json, for the same call
    const single = await t.json(['call', 'notes', 'get', '--args', '{"key":"a"}'])
    expect(out[4]).toEqual(single)
    expect(out[6].result).toBe(1)
    expect(out[9].result).toBe('2') // the lines of a batch run in their order
    const alone = await t.json(['call', 'notes', 'no_such_method'], {}).catch((e: Error) => e.message)
    expect(alone).toContain(out[2].error.message)
  })

  it('call --batch of 3,000 calls from a file answers every line in order', async () => {
    const n = 3000
    const before = (await t.json(['call', 'notes', 'len'])).result as number
    const input = Array.from({ length: n }, (_, i) => JSON.stringify({ context: 'notes', method: 'set', args: { key: `k${i}`, value: String(i) } })).join('\n')
    const r = await t.cli(['call', '--batch', '-'], { input, timeoutMs: 60_000 })
    expect(r.code).toBe(0)
    const out = lines(r.stdout)
    expect(out).toHaveLength(n)
    expect(out.every((o) => 'rootHash' in o && !('error' in o))).toBe(true)
    expect((await t.json(['call', 'notes', 'len'])).result).toBe(before + n)
  })

  it('group batch: governance ops per line, answers in order, did you mean for an unknown op', async () => {
    const [a, b] = [someone(), someone()]
    const input = [
      { op: 'add-members', group: 'team', identities: [a, b], role: 'member' },
      { op: 'set-role', group: 'team', identity: a, role: 'admin' },
      { op: 'add-member', group: 'team', identities: [a] },
      { op: 'remove-members', group: 'team', identities: [b] },
      { op: 'members', group: 'team' },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n')
    const r = await t.cli(['group', 'batch', '-'], { input })
    expect(r.code).toBe(1)
    const out = lines(r.stdout)
    expect(out[0]).toMatchObject({ added: [a, b], role: 'member' })
    expect(out[1]).toMatchObject({ identity: a, role: 'admin' })
    expect(out[2].error.message).toMatch(/'add-member' is not a batch operation. Did you mean 'add-members'\?/)
    expect(out[3]).toMatchObject({ removed: [b] })
    expect(out[4].members.map((m: { identity: string }) => m.identity)).toContain(a)
    expect(out[4].members.map((m: { identity: string }) => m.identity)).not.toContain(b)
  })

  it('node use sets the default node; hints then name the others', async () => {
    await t.init('bob')
    expect(await t.json(['node', 'use', 'bob'])).toMatchObject({ node: 'bob' })
    expect((await t.json(['node', 'use'])).node).toBe('bob')
    const list = await t.json(['node', 'list'])
    expect(list.nodes.find((n: { node: string }) => n.node === 'bob').default).toBe(true)
    const bob = await t.cli(['node', 'status', '--no-start', '--json'])
    expect(JSON.parse(bob.stdout).error.message).toContain("node 'bob'")
    expect(JSON.parse(bob.stdout).error.message).toContain('`meroctl node start`') // bob is the default: no --node
    const mine = await t.json(['node', 'status', '--node', 'default'])
    expect(mine.pid).toBe(pid)
    const typo = await t.cli(['node', 'use', 'bobb', '--json'])
    expect(JSON.parse(typo.stdout).error.message).toContain("Did you mean 'bob'?")
    await t.json(['node', 'use', 'default'])
  })

  it('config get/set: keys and values checked, and a restart asked for when the daemon runs', async () => {
    expect(await t.json(['config', 'get', 'log.level'])).toMatchObject({ config: { 'log.level': 'info' } })
    const set = await t.json(['config', 'set', 'log.level', 'debug'])
    expect(set).toMatchObject({ key: 'log.level', value: 'debug', previous: 'info', changed: true, restartNeeded: true })
    const human = await t.cli(['config', 'set', 'sync.timeout_secs', '45'])
    expect(human.stdout).toMatch(/sync\.timeout_secs = 45 \(was 30\)\nThe daemon is running: restart it to apply the change \(`meroctl node restart`\)/)
    const stopped = await t.json(['config', 'set', 'network.bootstrap', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWAbc', '--node', 'bob'])
    expect(stopped).toMatchObject({ value: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWAbc'], restartNeeded: false })
    const typo = await t.cli(['config', 'set', 'log.levle', 'debug', '--json'])
    expect(typo.code).toBe(2)
    expect(JSON.parse(typo.stdout).error.message).toContain("Did you mean 'log.level'?")
    const wrong = await t.cli(['config', 'set', 'sync.timeout_secs', 'soon', '--json'])
    expect(wrong.code).toBe(2)
    expect(JSON.parse(wrong.stdout).error.message).toMatch(/'sync.timeout_secs'/)
    expect((await t.json(['config', 'get'])).config['sync.timeout_secs']).toBe(45)
  })

  it('call --timeout gives up on a daemon that does not answer', async () => {
    process.kill(pid, 'SIGSTOP')
    try {
      const began = Date.now()
      const r = await t.cli(['call', 'notes', 'len', '--timeout', '500ms', '--json', '--no-start'])
      expect(r.code).toBe(1)
      expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'Timeout', code: 1006, message: expect.stringMatching(/no answer from the daemon within 500 ms/) })
      expect(Date.now() - began).toBeLessThan(10_000)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    const bad = await t.cli(['call', 'notes', 'len', '--timeout', 'soon', '--json'])
    expect(bad.code).toBe(2)
  })
})
