import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestHome, waitFor } from '../helpers/harness.js'

interface Record_ {
  level: number
  time: number
  msg: string
  event?: string
  [k: string]: unknown
}

/** The daemon's log tells the story of what two nodes did (issue 18, item 1). */
describe('merod.log for operators, and meroctl node logs', () => {
  const t = new TestHome()
  let bob: string

  const records = async (node: string, extra: string[] = []) => (await t.json<{ records: Record_[] }>(['node', 'logs', '--node', node, '-n', '500', ...extra])).records
  const has = (rs: Record_[], event: string, where: (r: Record_) => boolean = () => true) => rs.some((r) => r.event === event && where(r))

  beforeAll(async () => {
    await t.init('alice')
    await t.init('bob')
    await t.start('alice')
    bob = (await t.start('bob')).identity
  }, 60_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('group, invitation, join, peers, roles, contexts, removal: one info line each, on both nodes', async () => {
    await t.json(['group', 'create', '--alias', 'team', '--node', 'alice'])
    const { token } = await t.json(['invitation', 'create', 'team', '--node', 'alice'])
    await t.json(['group', 'join', token, '--node', 'bob'])
    await t.json(['app', 'install', 'apps/kv-store/build/kv-store.wasm', '--alias', 'kv', '--node', 'alice'])
    const ctx = await t.json(['context', 'create', '--group', 'team', '--app', 'kv', '--node', 'alice'])
    await t.json(['context', 'join', ctx.contextId, '--node', 'bob'])
    await t.json(['group', 'set-role', 'team', bob, 'admin', '--node', 'alice'])
    const rpc = t.rpc('alice')
    await rpc.call('group.removeMembers', { group: 'team', identities: [bob] }).finally(() => rpc.close())

    const alice = await waitFor(async () => {
      const rs = await records('alice')
      return has(rs, 'group.member.removed') && has(rs, 'group.op.applied', (r) => r.kind === 'ContextJoined') ? rs : undefined
    }, 10_000)
    const info = alice.filter((r) => r.level === 30)
    for (const event of ['group.created', 'invitation.created', 'peer.connected', 'group.member.added', 'context.created', 'group.member.updated', 'group.member.removed']) {
      expect(info.map((r) => r.event), event).toContain(event)
    }
    expect(info.find((r) => r.event === 'group.created')!.msg).toMatch(/^group [0-9a-f]{6}…[0-9a-f]{4} created by \w{6}…\w{4}$/)
    expect(info.find((r) => r.event === 'group.op.applied' && r.kind === 'ContextJoined')).toMatchObject({ contextId: ctx.contextId, msg: expect.stringMatching(/context joined by/) })
    expect(info.find((r) => r.event === 'group.member.removed')).toMatchObject({ identity: bob, msg: expect.stringMatching(/was removed from group team/) })

    // bob's sessions log as they finish (under load, after alice's lines are in)
    const finished = (rs: Awaited<ReturnType<typeof records>>) => rs.some((r) => r.event === 'sync.finished' && r.level === 30 && /\d+ fetched in \d+ ms/.test(r.msg))
    const b = await waitFor(async () => {
      const rs = await records('bob')
      return finished(rs) ? rs : undefined
    }, 10_000).catch(() => records('bob'))
    expect(finished(b)).toBe(true)
    expect(has(b, 'application.fetched')).toBe(true)
  })

  it('a peer lost is logged; --level keeps warnings and up, --since the recent lines, human lines read as sentences', async () => {
    await t.json(['node', 'stop', '--node', 'bob'])
    await waitFor(async () => has(await records('alice'), 'peer.disconnected'), 10_000)

    const all = await records('alice')
    expect(all.some((r) => r.level < 40)).toBe(true)
    const warnings = await records('alice', ['--level', 'warn'])
    expect(warnings.every((r) => r.level >= 40)).toBe(true)
    const last = all[all.length - 1]!
    const recent = await records('alice', ['--since', new Date(last.time).toISOString()])
    expect(recent.length).toBeGreaterThan(0)
    expect(recent.every((r) => r.time >= last.time)).toBe(true)
    expect(await records('alice', ['--since', '1h'])).toHaveLength(all.length)

    const human = await t.cli(['node', 'logs', '--node', 'alice', '-n', '500'])
    expect(human.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}peer 12D3Ko…\w{4} disconnected$/m)
    // the full ids are fields, shown with --wide
    expect((await t.cli(['node', 'logs', '--node', 'alice', '--wide'])).stdout).toMatch(/peerId=12D3KooW\w{44}/)
    const bad = await t.cli(['node', 'logs', '--node', 'alice', '--since', 'yesterday-ish', '--json'])
    expect(bad.code).toBe(2)
    expect(JSON.parse(bad.stdout).error).toMatchObject({ kind: 'InvalidInput', code: 1000, message: expect.stringMatching(/--since/) })
  })
})
