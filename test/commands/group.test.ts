import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { signOp } from '../../src/core/governance/ops.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { TestHome } from '../helpers/harness.js'

const someone = () => toBase58(generateKeyPair().publicKey)

describe('meroctl group and invitation', () => {
  const t = new TestHome()
  let me: string
  let groupId: string

  beforeAll(async () => {
    await t.init()
    me = (await t.start()).identity
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('group create (human and --json) and group list', async () => {
    const human = await t.cli(['group', 'create'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/group\s+[0-9a-f]{64}/)
    const created = await t.json(['group', 'create', '--alias', 'team'])
    expect(created).toEqual({ groupId: expect.stringMatching(/^[0-9a-f]{64}$/), owner: me })
    groupId = created.groupId
    const list = await t.json(['group', 'list'])
    expect(list.groups).toHaveLength(2)
    expect(list.groups).toContainEqual(expect.objectContaining({ groupId, alias: 'team', owner: me, myRole: 'admin', members: 1 }))
    expect((await t.cli(['group', 'list'])).stdout).toMatch(/team\s+│ admin/)
  })

  it('group get by id or alias, human and --json', async () => {
    const g = await t.json(['group', 'get', 'team'])
    expect(g).toMatchObject({ groupId, owner: me, stateHash: expect.stringMatching(/^[0-9a-f]{64}$/), heads: [groupId], equivocations: [], members: [{ identity: me, role: 'admin', capabilities: 31, alias: null }], settings: { defaultCapabilities: 4, defaultVisibility: 'open' } })
    expect((await t.json(['group', 'get', groupId])).stateHash).toBe(g.stateHash)
    const human = await t.cli(['group', 'get', 'team'])
    expect(human.stdout).toMatch(new RegExp(`owner\\s+${me}`))
    expect(human.stdout).toMatch(/│ admin \(owner\)/)
    const missing = await t.cli(['group', 'get', 'nope', '--json'])
    expect(missing.code).toBe(1)
    expect(JSON.parse(missing.stdout).error).toMatchObject({ kind: 'GroupNotFound', message: expect.stringMatching(/meroctl group list/) })
  })

  it('add-members, members, set-role, set/get-capabilities, remove-members', async () => {
    const [a, b, c] = [someone(), someone(), someone()]
    const added = await t.json(['group', 'add-members', 'team', a, b, c, '--role', 'member'])
    expect(added).toMatchObject({ groupId, added: [a, b, c], role: 'member' })
    expect(added.opIds).toHaveLength(3)
    expect((await t.cli(['group', 'add-members', 'team', someone()])).stdout).toMatch(/Added 1 member as member/)

    const members = await t.json(['group', 'members', 'team'])
    expect(members.members.map((m: { identity: string }) => m.identity)).toEqual(expect.arrayContaining([me, a, b, c]))
    expect((await t.cli(['group', 'members', 'team', '--wide'])).stdout).toMatch(new RegExp(`${a}\\s+│ member\\s+│ join-open-contexts`))

    expect(await t.json(['group', 'set-role', 'team', a, 'admin'])).toMatchObject({ identity: a, role: 'admin' })
    expect((await t.cli(['group', 'set-role', 'team', b, 'read-only'])).stdout).toMatch(/is now read-only/)

    const caps = await t.json(['group', 'set-capabilities', 'team', c, '--can-create-context', '--can-invite-members', '--no-can-join-open-contexts'])
    expect(caps).toMatchObject({ capabilities: 3, capabilityNames: ['create-context', 'invite-members'] })
    expect((await t.cli(['group', 'set-capabilities', 'team', c, '--no-can-invite-members'])).stdout).toMatch(/may now: create-context$/m)
    expect(await t.json(['group', 'get-capabilities', 'team', c])).toMatchObject({ role: 'member', capabilities: 1 })
    expect((await t.cli(['group', 'get-capabilities', 'team', a])).stdout).toMatch(/capabilities\s+all \(admin\)/)
    const none = await t.cli(['group', 'set-capabilities', 'team', c, '--json'])
    expect(none.code).toBe(2)

    expect(await t.json(['group', 'remove-members', 'team', b, c, '--yes'])).toMatchObject({ removed: [b, c] })
    const after = (await t.json(['group', 'members', 'team'])).members.map((m: { identity: string }) => m.identity)
    expect(after).not.toContain(b)
    expect(after).not.toContain(c)
    const owner = await t.cli(['group', 'remove-members', 'team', me, '--yes', '--json'])
    expect(owner.code).toBe(1)
    expect(JSON.parse(owner.stdout).error).toMatchObject({ kind: 'NotAuthorized', message: expect.stringMatching(/owner cannot be removed/) })
  })

  it('settings and aliases: default capabilities and visibility, group and member alias', async () => {
    expect(await t.json(['group', 'set-default-capabilities', 'team', '--can-create-context'])).toMatchObject({ defaultCapabilities: 5 })
    expect((await t.cli(['group', 'set-default-capabilities', 'team', '--no-can-create-context'])).stdout).toMatch(/may: join-open-contexts/)
    expect(await t.json(['group', 'set-default-visibility', 'team', 'restricted'])).toMatchObject({ visibility: 'restricted' })
    expect((await t.cli(['group', 'set-default-visibility', 'team', 'sideways'])).code).toBe(2)
    expect(await t.json(['group', 'set-alias', 'team', 'the-team'])).toMatchObject({ alias: 'the-team' })
    expect(await t.json(['group', 'set-member-alias', 'the-team', me, 'boss'])).toMatchObject({ identity: me, alias: 'boss' })
    const g = await t.json(['group', 'get', 'the-team'])
    expect(g).toMatchObject({ alias: 'the-team', settings: { defaultVisibility: 'restricted', defaultCapabilities: 4 } })
    expect(g.members.find((m: { identity: string }) => m.identity === me).alias).toBe('boss')
  })

  it('ops shows the log; ops apply ingests a signed op from a file or stdin and reports rejections', async () => {
    const ops = await t.json(['group', 'ops', 'team'])
    expect(ops.ops[0]).toMatchObject({ opId: groupId, kind: 'GroupCreated', signer: me, seq: 1, status: 'applied', parents: [] })
    expect(ops.ops.every((o: { status: string }) => o.status === 'applied')).toBe(true)
    expect((await t.cli(['group', 'ops', 'team', '-n', '2'])).stdout.split('\n').filter((l) => l.includes('│')).length).toBe(3)

    const heads = (await t.json(['group', 'get', 'team'])).heads.map((h: string) => Buffer.from(h, 'hex'))
    const stranger = generateKeyPair()
    const op = signOp({ groupId: Buffer.from(groupId, 'hex'), parents: heads, seq: 1n, op: { kind: 'GroupAliasSet', alias: 'hijack' } }, stranger)
    const file = join(t.home, 'op.hex')
    writeFileSync(file, op.bytes.toString('hex'))
    const rejected = await t.cli(['group', 'ops', 'apply', file, '--json'])
    expect(rejected.code).toBe(1)
    expect(JSON.parse(rejected.stdout)).toMatchObject({ opId: op.id.toString('hex'), status: 'rejected', reason: 'signer is not a member of the group' })
    expect((await t.json(['group', 'get', 'team'])).alias).toBe('the-team')
    const dup = await t.cli(['group', 'ops', 'apply', '-', '--json'], { input: op.bytes.toString('base64') })
    expect(JSON.parse(dup.stdout).status).toBe('duplicate')
    const elsewhere = signOp({ groupId: Buffer.alloc(32, 7), parents: heads, seq: 1n, op: { kind: 'MemberLeft' } }, stranger)
    const wrongGroup = await t.cli(['group', 'ops', 'apply', '-', '--json'], { input: elsewhere.bytes.toString('hex') })
    expect(wrongGroup.code).toBe(1)
    expect(JSON.parse(wrongGroup.stdout).error).toMatchObject({ kind: 'GroupNotFound', message: expect.stringMatching(/nothing was stored/) })
    const garbage = await t.cli(['group', 'ops', 'apply', '-', '--json'], { input: 'deadbeef' })
    expect(garbage.code).toBe(1)
    expect(JSON.parse(garbage.stdout).error).toMatchObject({ kind: 'InvalidOp', message: expect.stringMatching(/truncated/) })
  })

  it('invitation create, inspect, list and revoke', async () => {
    const created = await t.json(['invitation', 'create', 'team', '--role', 'member', '--expires-in', '2d'])
    expect(created).toMatchObject({ token: expect.stringMatching(/^mero-inv2-/), invitationId: expect.stringMatching(/^[0-9a-f]{64}$/), groupId, role: 'member' })
    expect(created.expiresAt).toBeGreaterThan(Date.now() + 47 * 3600_000)
    const human = await t.cli(['invitation', 'create', 'team'])
    expect(human.stdout.trim()).toMatch(/^mero-inv2-\w+$/) // the token alone on stdout, details on stderr
    expect(human.stderr).toMatch(/expires/)

    const inspected = await t.json(['invitation', 'inspect', created.token])
    expect(inspected).toMatchObject({ invitationId: created.invitationId, groupId, inviter: me, role: 'member', expired: false, signatureValid: true, revoked: false, claimedBy: [] })
    expect(inspected.addresses[0]).toMatch(/\/p2p\/12D3KooW/)
    expect((await t.cli(['invitation', 'inspect', created.token])).stdout).toMatch(/signature\s+valid/)
    // cut short: not a token any more
    const truncated = await t.cli(['invitation', 'inspect', created.token.slice(0, 60), '--json'])
    expect(truncated.code).toBe(1)
    expect(JSON.parse(truncated.stdout).error).toMatchObject({ kind: 'InvitationInvalid', message: expect.stringMatching(/^the invitation token is damaged or incomplete/) })
    // one character changed inside the signed part: it decodes, and the signature no longer verifies
    const i = 'mero-inv2-'.length + 20
    const altered = created.token.slice(0, i) + (created.token[i] === '2' ? '3' : '2') + created.token.slice(i + 1)
    const tampered = await t.cli(['invitation', 'inspect', altered, '--json'])
    if (tampered.code === 0) expect(JSON.parse(tampered.stdout).signatureValid).toBe(false)
    else expect(JSON.parse(tampered.stdout).error.kind).toBe('InvitationInvalid')

    expect((await t.json(['invitation', 'list'])).invitations).toContainEqual(expect.objectContaining({ invitationId: created.invitationId, state: 'active' }))
    expect((await t.cli(['invitation', 'revoke', created.invitationId, '--json'])).code).toBe(2) // needs --yes off a TTY
    expect(await t.json(['invitation', 'revoke', created.invitationId, '--yes'])).toMatchObject({ invitationId: created.invitationId, groupId })
    expect((await t.json(['invitation', 'inspect', created.token])).revoked).toBe(true)
    expect((await t.cli(['invitation', 'list'])).stdout).toMatch(/revoked/)
    const badExpiry = await t.cli(['invitation', 'create', 'team', '--expires-in', 'soon', '--json'])
    expect(badExpiry.code).toBe(2)
  })

  it('invitation create --max-uses, list shows uses and what is left; group join reads the token from stdin or a file', async () => {
    const single = await t.json(['invitation', 'create', 'team'])
    expect(single.maxUses).toBe(1)
    const three = await t.json(['invitation', 'create', 'team', '--max-uses', '3'])
    expect(three.maxUses).toBe(3)
    expect((await t.json(['invitation', 'inspect', three.token])).maxUses).toBe(3)
    const listed = (await t.json(['invitation', 'list'])).invitations
    expect(listed).toContainEqual(expect.objectContaining({ invitationId: three.invitationId, maxUses: 3, uses: 0, remaining: 3, state: 'active' }))
    expect((await t.cli(['invitation', 'list'])).stdout).toMatch(/\buses\b.*\bleft\b/)
    expect((await t.cli(['invitation', 'create', 'team', '--max-uses', '0', '--json'])).code).toBe(2)
    // no token anywhere: a usage error naming the ways to give one
    const none = await t.cli(['group', 'join', '--json'])
    expect(none.code).toBe(2)
    expect(JSON.parse(none.stdout).error.message).toMatch(/'-' to read it from stdin, or --token-file/)
    // a garbled token on stdin and in a file: the same plain message, no decoder internals
    const garbled = three.token.slice(0, 50)
    for (const args of [['group', 'join', '-', '--json'], ['group', 'join', '--token-file', join(t.home, 'token.txt'), '--json']]) {
      writeFileSync(join(t.home, 'token.txt'), garbled + '\n')
      const r = await t.cli(args, { input: garbled + '\n' })
      expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'InvitationInvalid', message: expect.stringMatching(/^the invitation token is damaged or incomplete/) })
    }
    const missing = await t.cli(['group', 'join', '--token-file', join(t.home, 'nowhere.txt'), '--json'])
    expect(missing.code).toBe(2)
    expect(JSON.parse(missing.stdout).error.message).toMatch(/cannot read .*nowhere\.txt/)
  })

  it('transfer-ownership, leave and delete', async () => {
    const g = (await t.json(['group', 'create'])).groupId
    const other = someone()
    await t.json(['group', 'add-members', g, other, '--role', 'admin'])
    const leave = await t.cli(['group', 'leave', g, '--yes', '--json'])
    expect(JSON.parse(leave.stdout).error.message).toMatch(/owner cannot leave; transfer ownership first/)
    const notAdmin = someone()
    await t.json(['group', 'add-members', g, notAdmin])
    expect(JSON.parse((await t.cli(['group', 'transfer-ownership', g, notAdmin, '--yes', '--json'])).stdout).error.message).toMatch(/must be an admin/)
    expect(await t.json(['group', 'transfer-ownership', g, other, '--yes'])).toMatchObject({ owner: other })
    expect(JSON.parse((await t.cli(['group', 'delete', g, '--yes', '--json'])).stdout).error.message).toMatch(/only the owner deletes/)
    expect(await t.json(['group', 'leave', g, '--yes'])).toMatchObject({ groupId: g })

    const mine = (await t.json(['group', 'create'])).groupId
    expect((await t.cli(['group', 'delete', mine, '--json'])).code).toBe(2)
    expect(await t.json(['group', 'delete', mine, '--yes'])).toMatchObject({ groupId: mine })
    expect((await t.json(['group', 'get', mine])).deleted).toBe(true)
    expect(JSON.parse((await t.cli(['group', 'set-alias', mine, 'x', '--json'])).stdout).error.kind).toBe('GroupDeleted')
  })

  it('group upgrade sets the target application, replicated in the group state', async () => {
    const app = toBase58(Buffer.alloc(32, 0xa7))
    expect(await t.json(['group', 'upgrade', 'team', '--app', app])).toMatchObject({ groupId, targetApplication: app, contexts: 0 })
    expect((await t.json(['group', 'get', 'team'])).settings.targetApplication).toBe(app)
    expect((await t.cli(['group', 'upgrade', 'team', '--app', 'no-such-app', '--json'])).code).toBe(1)
  })

  it('bad input gets a usage error naming the parameter', async () => {
    const r = await t.cli(['group', 'add-members', 'team', 'not-base58-0OIl', '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'AliasNotFound', message: expect.stringMatching(/'not-base58-0OIl' is neither an identity id nor an identity alias/) })
    const role = await t.cli(['group', 'set-role', 'team', me, 'emperor'])
    expect(role.code).toBe(2)
  })

  it('group get --json is byte-identical across a daemon restart', async () => {
    const before = (await t.cli(['group', 'get', 'team', '--json'])).stdout
    await t.json(['node', 'restart'])
    const after = (await t.cli(['group', 'get', 'team', '--json'])).stdout
    expect(after).toBe(before)
    expect((await t.cli(['group', 'ops', 'team', '--json'])).code).toBe(0)
  })
})
