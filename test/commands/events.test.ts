import { spawn, type ChildProcess } from 'node:child_process'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { MEROCTL, TestHome, waitFor } from '../helpers/harness.js'

/** A long-running `meroctl events ...` whose output is collected; killed at cleanup. */
function streamEvents(t: TestHome, args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = t.track(spawn(process.execPath, [MEROCTL, 'events', ...args, '--home', t.home, '--no-start'], { env: { ...process.env, NO_COLOR: '1', MERO_HOME: undefined, MERO_NODE: undefined }, stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return { child, out: () => out, err: () => err, exit }
}

/** Resolves once the daemon counts `n` open /events streams (so nothing emitted after is missed). */
async function subscribers(t: TestHome, n: number): Promise<void> {
  const rpc = t.rpc()
  try {
    await waitFor(async () => new RegExp(`^merod_event_subscribers ${n}$`, 'm').test(await rpc.get('/metrics')), 10_000)
  } finally {
    rpc.close()
  }
}

const within = <T,>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))])

const identity = () => toBase58(generateKeyPair().publicKey)

describe('meroctl events', () => {
  let t: TestHome
  beforeEach(async () => {
    t = new TestHome()
    await t.init()
    await t.start()
  })
  afterEach(async () => {
    await t.cleanup()
  })

  it('--count 3 --json prints three well-formed events caused by a command, then exits 0', async () => {
    const s = streamEvents(t, ['--count', '3', '--json'])
    await subscribers(t, 1)
    const created = await t.json<{ groupId: string; owner: string }>(['group', 'create'])
    const code = await within(s.exit, 10_000, 'meroctl events --count 3 exiting')
    expect(code, s.err()).toBe(0)
    const lines = s.out().trim().split('\n')
    expect(lines).toHaveLength(3)
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    for (const e of events) {
      expect(e).toMatchObject({ type: expect.stringMatching(/^[a-z.]+$/), ts: expect.any(Number), seq: expect.any(Number) })
      // every one of them is about the group the command created: none is a periodic heartbeat
      expect(e.groupId).toBe(created.groupId)
    }
    expect(events.map((e) => e.type).sort()).toEqual(['group.created', 'group.member.added', 'group.op.applied'])
    expect(events.find((e) => e.type === 'group.member.added')).toMatchObject({ identity: created.owner, role: 'admin' })
  })

  it('--group (alias) and --type filter the stream; human lines are readable', async () => {
    const a = await t.json<{ groupId: string }>(['group', 'create'])
    const b = await t.json<{ groupId: string }>(['group', 'create', '--alias', 'team-b'])
    const s = streamEvents(t, ['--group', 'team-b', '--type', 'group.member.added', '--count', '1'])
    await subscribers(t, 1)
    const inA = identity()
    const inB = identity()
    await t.json(['group', 'add-members', a.groupId, inA])
    await t.json(['group', 'add-members', b.groupId, inB, '--role', 'read-only'])
    expect(await within(s.exit, 10_000, 'meroctl events --count 1 exiting'), s.err()).toBe(0)
    const lines = s.out().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  group\.member\.added\s+member \S+ joined group \S+ as read-only$/)
    expect(lines[0]).toContain(inB.slice(0, 6))
    expect(lines[0]).toContain(b.groupId.slice(0, 6))
    expect(s.out()).not.toContain(inA.slice(0, 6))
  })

  it('ends with an error naming the cause when the daemon stops the stream', async () => {
    const s = streamEvents(t, ['--json'])
    await subscribers(t, 1)
    await t.json(['node', 'stop'])
    expect(await within(s.exit, 10_000, 'meroctl events exiting')).toBe(1)
    const out = s.out()
    const first = out.indexOf('\n')
    expect(JSON.parse(out.slice(0, first))).toMatchObject({ type: 'node.stopping' })
    // then the error document, as every command prints one under --json: on one line (NDJSON to the end)
    const lines = out.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(JSON.parse(lines[1]!).error).toMatchObject({ kind: 'Failed', code: expect.any(Number), message: expect.stringMatching(/the daemon closed the event stream after 1 event/) })
  })

  it('SIGINT ends it cleanly; an unknown group alias is named', async () => {
    const s = streamEvents(t, [])
    await subscribers(t, 1)
    s.child.kill('SIGINT')
    expect(await within(s.exit, 10_000, 'meroctl events exiting on SIGINT')).toBe(0)
    await subscribers(t, 0)
    // and an unknown group alias is named
    const r = await t.cli(['events', '--group', 'nope', '--json'])
    expect(r.code).not.toBe(0)
    expect(JSON.parse(r.stdout).error.message).toMatch(/nope/)
  })
})

describe('meroctl events usage', () => {
  let t: TestHome
  beforeEach(() => {
    t = new TestHome()
  })
  afterEach(async () => {
    await t.cleanup()
  })

  it('refuses a malformed --type or --count with a usage error', async () => {
    const bad = await t.cli(['events', '--type', 'Not A Type', '--json'])
    expect(bad.code).toBe(2)
    expect(JSON.parse(bad.stdout).error.message).toMatch(/is not an event type/)
    // a type that looks right but does not exist would wait forever: refused, with the list
    const unknown = await t.cli(['events', '--type', 'group.member.add', '--count', '1', '--json'])
    expect(unknown.code).toBe(2)
    const { error } = JSON.parse(unknown.stdout)
    expect(error).toMatchObject({ kind: 'UsageError', code: 1008 })
    expect(error.message).toContain("Did you mean 'group.member.added'?")
    expect(error.message).toContain('group.created, group.deleted')
    const zero = await t.cli(['events', '--count', '0'])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toMatch(/--count/)
  })
})
