import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EventBus } from '../../../src/core/node/event-bus.js'
import { relayEvents } from '../../../src/core/node/relay.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { createInvitation, invitationId } from '../../../src/core/governance/invitation.js'
import { Capability, type GroupOp } from '../../../src/core/governance/ops.js'
import { Store } from '../../../src/core/store/store.js'
import { fixture, id58, inject, keys, memberRoles, raw, viewOf } from './helpers.js'

const ctx = Buffer.alloc(32, 0xc1)
const app = Buffer.alloc(32, 0xa1)

/** owner + admin a + member b (+ c with the given caps when asked). */
function setup() {
  const f = fixture()
  f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'admin' })
  f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.b.publicKey, role: 'member' })
  return f
}

/** Runs `body` with a fresh temp folder for a store's data, removed afterwards even on failure. */
async function withDataDir(body: (data: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mero-gov-'))
  try {
    await body(join(dir, 'data'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('authorisation at the cut, per op', () => {
  const cases: { name: string; op: GroupOp; ok: keyof typeof keys; refused: keyof typeof keys; reason: RegExp; prepare?: (f: ReturnType<typeof setup>) => void }[] = [
    { name: 'MemberAdded', op: { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' }, ok: 'a', refused: 'b', reason: /requires an admin or the manage-members/ },
    { name: 'MemberRemoved', op: { kind: 'MemberRemoved', member: keys.b.publicKey }, ok: 'a', refused: 'd', reason: /not a member/ },
    { name: 'RoleSet', op: { kind: 'RoleSet', member: keys.b.publicKey, role: 'admin' }, ok: 'a', refused: 'b', reason: /requires an admin/ },
    { name: 'CapabilitiesSet', op: { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: 1 }, ok: 'a', refused: 'b', reason: /requires an admin/ },
    { name: 'DefaultCapabilitiesSet', op: { kind: 'DefaultCapabilitiesSet', capabilities: 3 }, ok: 'a', refused: 'b', reason: /requires an admin/ },
    { name: 'DefaultVisibilitySet', op: { kind: 'DefaultVisibilitySet', visibility: 'restricted' }, ok: 'owner', refused: 'b', reason: /requires an admin/ },
    { name: 'GroupAliasSet', op: { kind: 'GroupAliasSet', alias: 'team' }, ok: 'a', refused: 'b', reason: /requires an admin/ },
    { name: 'MemberAliasSet (own)', op: { kind: 'MemberAliasSet', member: keys.b.publicKey, alias: 'bee' }, ok: 'b', refused: 'd', reason: /only their own alias|not a member/ },
    { name: 'TargetApplicationSet', op: { kind: 'TargetApplicationSet', application: app }, ok: 'a', refused: 'b', reason: /manage-application/ },
    { name: 'ContextRegistered', op: { kind: 'ContextRegistered', contextId: ctx, application: app }, ok: 'a', refused: 'b', reason: /create-context/ },
    { name: 'OwnershipTransferred', op: { kind: 'OwnershipTransferred', newOwner: keys.a.publicKey }, ok: 'owner', refused: 'a', reason: /only the owner transfers/ },
    { name: 'GroupDeleted', op: { kind: 'GroupDeleted' }, ok: 'owner', refused: 'a', reason: /only the owner deletes/ },
    { name: 'InvitationRevoked', op: { kind: 'InvitationRevoked', invitationId: Buffer.alloc(32, 9) }, ok: 'a', refused: 'b', reason: /requires an admin, or the inviter/ },
  ]
  for (const c of cases) {
    it(`${c.name}: authorised for ${c.ok}, refused for ${c.refused}`, () => {
      const f = setup()
      const refused = inject(f.store, f.groupId, keys[c.refused], c.op)
      expect(refused.result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(c.reason) })
      expect(() => f.store.issue(f.groupId, keys[c.refused], c.op)).toThrow(c.reason)
      const ok = inject(f.store, f.groupId, keys[c.ok], c.op)
      expect(ok.result.status).toBe('applied')
    })
  }

  it('context ops: the creator or an admin may manage; others may not', () => {
    const f = setup()
    f.store.issue(f.groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: Capability.CreateContext })
    f.store.issue(f.groupId, keys.b, { kind: 'ContextRegistered', contextId: ctx, application: app })
    f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' })
    for (const op of [
      { kind: 'ContextVisibilitySet', contextId: ctx, visibility: 'restricted' },
      { kind: 'ContextAliasSet', contextId: ctx, alias: 'notes' },
      { kind: 'ContextAllowlistSet', contextId: ctx, add: [keys.c.publicKey], remove: [] },
    ] as GroupOp[]) {
      expect(inject(f.store, f.groupId, keys.c, op).result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/creator/) })
      expect(inject(f.store, f.groupId, keys.b, op).result.status).toBe('applied')
    }
    expect(inject(f.store, f.groupId, keys.b, { kind: 'ContextDetached', contextId: ctx }).result.reason).toMatch(/requires an admin/)
    const view = viewOf(f.store, f.groupId).contexts[0]!
    expect(view).toMatchObject({ visibility: 'restricted', alias: 'notes', creator: id58(keys.b) })
    expect(view.allowlist.sort()).toEqual([id58(keys.b), id58(keys.c)].sort())
    expect(inject(f.store, f.groupId, keys.a, { kind: 'ContextDetached', contextId: ctx }).result.status).toBe('applied')
    expect(viewOf(f.store, f.groupId).contexts).toEqual([])
  })

  it('joining contexts follows visibility and the allowlist', () => {
    const f = setup()
    f.store.issue(f.groupId, keys.a, { kind: 'ContextRegistered', contextId: ctx, application: app, visibility: 'restricted' })
    expect(inject(f.store, f.groupId, keys.b, { kind: 'ContextJoined', contextId: ctx }).result.reason).toMatch(/not on its allowlist/)
    f.store.issue(f.groupId, keys.a, { kind: 'ContextAllowlistSet', contextId: ctx, add: [keys.b.publicKey], remove: [] })
    expect(inject(f.store, f.groupId, keys.b, { kind: 'ContextJoined', contextId: ctx }).result.status).toBe('applied')
    const open = Buffer.alloc(32, 0xc2)
    f.store.issue(f.groupId, keys.a, { kind: 'ContextRegistered', contextId: open, application: app, visibility: 'open' })
    f.store.issue(f.groupId, keys.a, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: 0 })
    expect(inject(f.store, f.groupId, keys.b, { kind: 'ContextJoined', contextId: open }).result.reason).toMatch(/join-open-contexts/)
  })

  it('manage-members holders add and remove non-admins only', () => {
    const f = setup()
    f.store.issue(f.groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: Capability.ManageMembers })
    expect(inject(f.store, f.groupId, keys.b, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'admin' }).result.reason).toMatch(/only admins may add admins/)
    expect(inject(f.store, f.groupId, keys.b, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' }).result.status).toBe('applied')
    expect(inject(f.store, f.groupId, keys.b, { kind: 'MemberRemoved', member: keys.a.publicKey }).result.reason).toMatch(/requires an admin/)
    expect(inject(f.store, f.groupId, keys.b, { kind: 'MemberRemoved', member: keys.c.publicKey }).result.status).toBe('applied')
  })

  it('read-only members may leave and set their own alias, nothing that governs', () => {
    const f = setup()
    f.store.issue(f.groupId, keys.owner, { kind: 'RoleSet', member: keys.b.publicKey, role: 'read-only' })
    f.store.issue(f.groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: 31 })
    expect(inject(f.store, f.groupId, keys.b, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' }).result.reason).toMatch(/read-only/)
    expect(inject(f.store, f.groupId, keys.b, { kind: 'MemberAliasSet', member: keys.b.publicKey, alias: 'ro' }).result.status).toBe('applied')
  })
})

describe('owner and cascades', () => {
  it('the owner cannot be removed, demoted or leave; ownership moves only to an admin', () => {
    const f = setup()
    expect(inject(f.store, f.groupId, keys.a, { kind: 'MemberRemoved', member: keys.owner.publicKey }).result.reason).toMatch(/owner cannot be removed/)
    expect(inject(f.store, f.groupId, keys.a, { kind: 'RoleSet', member: keys.owner.publicKey, role: 'member' }).result.reason).toMatch(/owner cannot be demoted/)
    expect(inject(f.store, f.groupId, keys.a, { kind: 'MemberAdded', member: keys.owner.publicKey, role: 'member' }).result.reason).toMatch(/owner's role cannot change/)
    expect(inject(f.store, f.groupId, keys.owner, { kind: 'MemberLeft' }).result.reason).toMatch(/owner cannot leave/)
    expect(inject(f.store, f.groupId, keys.owner, { kind: 'OwnershipTransferred', newOwner: keys.b.publicKey }).result.reason).toMatch(/must be an admin/)
    f.store.issue(f.groupId, keys.owner, { kind: 'OwnershipTransferred', newOwner: keys.a.publicKey })
    const v = viewOf(f.store, f.groupId)
    expect(v.owner).toBe(id58(keys.a))
    // the former owner is an ordinary admin now, and may leave
    expect(inject(f.store, f.groupId, keys.owner, { kind: 'MemberLeft' }).result.status).toBe('applied')
    expect(viewOf(f.store, f.groupId).members.map((m) => m.identity)).not.toContain(id58(keys.owner))
  })

  it('removing a member removes its identities from every context of the group', () => {
    const f = setup()
    const ctx2 = Buffer.alloc(32, 0xc2)
    f.store.issue(f.groupId, keys.a, { kind: 'ContextRegistered', contextId: ctx, application: app })
    f.store.issue(f.groupId, keys.a, { kind: 'ContextRegistered', contextId: ctx2, application: app })
    f.store.issue(f.groupId, keys.b, { kind: 'ContextJoined', contextId: ctx })
    f.store.issue(f.groupId, keys.b, { kind: 'ContextJoined', contextId: ctx2 })
    expect(viewOf(f.store, f.groupId).contexts.every((c) => c.members.includes(id58(keys.b)))).toBe(true)
    f.store.issue(f.groupId, keys.a, { kind: 'MemberRemoved', member: keys.b.publicKey })
    const v = viewOf(f.store, f.groupId)
    expect(v.contexts.every((c) => !c.members.includes(id58(keys.b)))).toBe(true)
    expect(memberRoles(f.store, f.groupId)[id58(keys.b)]).toBeUndefined()
    // and the removed member can no longer act
    expect(inject(f.store, f.groupId, keys.b, { kind: 'ContextJoined', contextId: ctx }).result.reason).toMatch(/not a member/)
  })

  it('deleting the group ends it: every later op is rejected', () => {
    const f = setup()
    f.store.issue(f.groupId, keys.a, { kind: 'ContextRegistered', contextId: ctx, application: app })
    f.store.issue(f.groupId, keys.owner, { kind: 'GroupDeleted' })
    expect(viewOf(f.store, f.groupId).deleted).toBe(true)
    expect(inject(f.store, f.groupId, keys.a, { kind: 'GroupAliasSet', alias: 'x' }).result.reason).toMatch(/deleted/)
    expect(() => f.store.issue(f.groupId, keys.owner, { kind: 'GroupAliasSet', alias: 'x' })).toThrow(expect.objectContaining({ kind: 'GroupDeleted' }))
  })

  it('a re-added member starts with the default capabilities, not its old ones', () => {
    const f = setup()
    f.store.issue(f.groupId, keys.a, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: 31 })
    f.store.issue(f.groupId, keys.a, { kind: 'MemberRemoved', member: keys.b.publicKey })
    f.store.issue(f.groupId, keys.a, { kind: 'MemberAdded', member: keys.b.publicKey, role: 'member' })
    expect(viewOf(f.store, f.groupId).members.find((m) => m.identity === id58(keys.b))!.capabilities).toBe(Capability.JoinOpenContexts)
  })
})

describe('invitations', () => {
  const claim = (f: ReturnType<typeof setup>, joiner = keys.c, inv = createInvitation(keys.a, f.groupId, 'member', Date.now() + 60_000), joinedAt = BigInt(Date.now())) =>
    inject(f.store, f.groupId, joiner, { kind: 'InvitationClaimed', invitation: inv, joinedAt })

  it('a valid claim admits the joiner with the invited role', () => {
    const f = setup()
    expect(claim(f).result.status).toBe('applied')
    expect(memberRoles(f.store, f.groupId)[id58(keys.c)]).toBe('member')
  })

  it('rejects an expired claim, a revoked invitation, a reused one, and an inviter without permission', () => {
    const f = setup()
    const gid = f.groupId
    const expired = createInvitation(keys.a, gid, 'member', 1_000)
    expect(claim(f, keys.c, expired, 2_000n).result.reason).toMatch(/expired/)

    const revoked = createInvitation(keys.a, gid, 'member', Date.now() + 60_000)
    f.store.issue(f.groupId, keys.a, { kind: 'InvitationRevoked', invitationId: invitationId(revoked) })
    expect(claim(f, keys.c, revoked).result.reason).toMatch(/revoked/)

    const byMember = createInvitation(keys.b, gid, 'member', Date.now() + 60_000)
    expect(claim(f, keys.c, byMember).result.reason).toMatch(/may not invite/)
    const adminByNonAdmin = createInvitation(keys.b, gid, 'admin', Date.now() + 60_000)
    f.store.issue(f.groupId, keys.a, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: Capability.InviteMembers })
    expect(claim(f, keys.c, adminByNonAdmin).result.reason).toMatch(/only admins may invite admins/)
    expect(claim(f, keys.c, byMember).result.status).toBe('applied')

    f.store.issue(f.groupId, keys.c, { kind: 'MemberLeft' })
    expect(claim(f, keys.c, byMember).result.reason).toMatch(/already used this invitation/)
    const other = createInvitation(keys.a, Buffer.alloc(32, 1), 'member', Date.now() + 60_000)
    expect(claim(f, keys.d, other).result.reason).toMatch(/another group/)
  })

  it('a removed member cannot come back with an invitation; an admin can re-add it', () => {
    const f = setup()
    f.store.issue(f.groupId, keys.a, { kind: 'MemberRemoved', member: keys.b.publicKey })
    expect(claim(f, keys.b).result.reason).toMatch(/only be re-added by an admin/)
    f.store.issue(f.groupId, keys.a, { kind: 'MemberAdded', member: keys.b.publicKey, role: 'member' })
    expect(memberRoles(f.store, f.groupId)[id58(keys.b)]).toBe('member')
  })

  it('the inviter must have been authorised at the claim\'s cut, not later', () => {
    const f = setup()
    const inv = createInvitation(keys.b, f.groupId, 'member', Date.now() + 60_000)
    const heads = f.store.heads(f.groupId)
    // the claim is authored on the current heads, where b may not invite...
    const early = raw(f.groupId, keys.c, heads, 1n, { kind: 'InvitationClaimed', invitation: inv, joinedAt: BigInt(Date.now()) })
    // ...and b is granted the capability concurrently: the claim stays rejected everywhere
    f.store.issue(f.groupId, keys.a, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: Capability.InviteMembers })
    expect(f.store.ingest([early.bytes])[0]).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/may not invite/) })
  })
})

describe('the DAG', () => {
  it("the original's split case converges: admin A adds D while admin C removes A", () => {
    const f = fixture()
    f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'admin' })
    f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'admin' })
    const base = f.store.heads(f.groupId)
    const history = f.store.getOps(f.groupId, f.store.ops(f.groupId).map((o) => o.opId))
    const addD = raw(f.groupId, keys.a, base, 1n, { kind: 'MemberAdded', member: keys.d.publicKey, role: 'member' })
    const removeA = raw(f.groupId, keys.c, base, 1n, { kind: 'MemberRemoved', member: keys.a.publicKey })
    const replicas = [new GroupStore(), new GroupStore(), new GroupStore()]
    replicas[0]!.ingest([...history, addD.bytes, removeA.bytes])
    replicas[1]!.ingest([...history, removeA.bytes, addD.bytes])
    replicas[2]!.ingest([removeA.bytes, addD.bytes, ...history.reverse()])
    const views = replicas.map((r) => viewOf(r, f.groupId))
    expect(new Set(views.map((v) => v.stateHash)).size).toBe(1)
    for (const v of views) {
      const roles = Object.fromEntries(v.members.map((m) => [m.identity, m.role]))
      expect(roles).toEqual({ [id58(keys.owner)]: 'admin', [id58(keys.c)]: 'admin', [id58(keys.d)]: 'member' })
      expect(v.heads).toHaveLength(2)
    }
  })

  it('a child before its parent waits, then cascades; a reversed chain applies completely', () => {
    const f = fixture()
    const ops = [f.genesis]
    for (let i = 0; i < 5; i++) ops.push(raw(f.groupId, keys.owner, [ops.at(-1)!], BigInt(i + 2), { kind: 'GroupAliasSet', alias: `a${i}` }))
    const r = new GroupStore()
    const results = r.ingest(ops.slice().reverse().map((o) => o.bytes))
    expect(results.slice(0, 5).every((x) => x.status === 'pending')).toBe(true)
    expect(results[5]!.status).toBe('applied')
    expect(viewOf(r, f.groupId)).toMatchObject({ alias: 'a4', opCount: 6, pendingOps: 0, heads: [ops.at(-1)!.id.toString('hex')] })
    expect(r.ingest([ops[3]!.bytes])[0]!.status).toBe('duplicate')
  })

  it('flags an equivocation (same signer and seq, different ops) and applies both by the rules', () => {
    const f = fixture()
    const one = raw(f.groupId, keys.owner, [f.genesis], 2n, { kind: 'GroupAliasSet', alias: 'one' })
    const two = raw(f.groupId, keys.owner, [f.genesis], 2n, { kind: 'GroupAliasSet', alias: 'two' })
    const bus = new EventBus()
    const seen: string[] = []
    bus.on((e) => seen.push(e.type))
    const r = new GroupStore()
    relayEvents(bus, { governance: r.events })
    r.ingest([f.genesis.bytes, one.bytes, two.bytes])
    const v = viewOf(r, f.groupId)
    expect(v.equivocations).toEqual([{ signer: id58(keys.owner), seq: 2, opIds: [one.id.toString('hex'), two.id.toString('hex')].sort() }])
    expect(v.alias).toBe(Buffer.compare(one.id, two.id) > 0 ? 'one' : 'two')
    expect(seen).toContain('group.equivocation')
  })

  it('issueWriteBehind applies at once, writes the ops of one turn in one batch at its end, and before any other write', async () => {
    await withDataDir(async (data) => {
      const store = await Store.open(data)
      const gs = new GroupStore(store)
      const { groupId } = gs.createGroup(keys.owner)
      const stored = () => store.scanPrefix('groupOps', groupId).length
      const first = gs.issueWriteBehind(groupId, keys.owner, { kind: 'GroupAliasSet', alias: 'one' })
      const second = gs.issueWriteBehind(groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'admin' })
      // applied and visible now, written at the end of the turn
      expect(viewOf(gs, groupId).alias).toBe('one')
      expect(gs.ops(groupId)).toHaveLength(3)
      expect(stored()).toBe(1)
      expect(first.persisted).toBe(second.persisted)
      await first.persisted
      expect(stored()).toBe(3)

      // an op ingested from the wire is written after the ops issued before it
      const third = gs.issueWriteBehind(groupId, keys.owner, { kind: 'GroupAliasSet', alias: 'two' })
      const remote = raw(groupId, keys.a, [third.op], 1n, { kind: 'GroupAliasSet', alias: 'three' })
      expect(gs.ingest([remote.bytes])[0]!.status).toBe('applied')
      expect(stored()).toBe(5)
      await third.persisted

      // a refused op is neither applied nor queued
      expect(() => gs.issueWriteBehind(groupId, keys.b, { kind: 'GroupAliasSet', alias: 'x' })).toThrow(/refused/)
      const reloaded = new GroupStore(store)
      reloaded.start()
      expect(JSON.stringify(viewOf(reloaded, groupId))).toBe(JSON.stringify(viewOf(gs, groupId)))
      await store.close()

      // a failed write rejects `persisted`
      const closed = gs.issueWriteBehind(groupId, keys.owner, { kind: 'GroupAliasSet', alias: 'late' })
      await expect(closed.persisted).rejects.toThrow()
    })
  })

  it('reloads from RocksDB to a byte-identical view', async () => {
    await withDataDir(async (data) => {
      let store = await Store.open(data)
      let gs = new GroupStore(store)
      const { groupId } = gs.createGroup(keys.owner)
      gs.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'admin' })
      gs.issue(groupId, keys.a, { kind: 'ContextRegistered', contextId: ctx, application: app })
      gs.issue(groupId, keys.owner, { kind: 'GroupAliasSet', alias: 'team' })
      const before = JSON.stringify(viewOf(gs, groupId))
      await store.close()
      store = await Store.open(data)
      gs = new GroupStore(store)
      gs.start()
      expect(JSON.stringify(viewOf(gs, groupId))).toBe(before)
      expect(gs.ops(groupId)).toHaveLength(4)
      await store.close()
    })
  })
})

describe('events', () => {
  it('creating a group reports the owner as an added admin member', () => {
    const bus = new EventBus()
    const seen: { type: string; identity?: string; role?: string }[] = []
    bus.on((e) => seen.push(e as never))
    const r = new GroupStore()
    relayEvents(bus, { governance: r.events })
    r.createGroup(keys.owner)
    expect(seen.map((e) => e.type)).toEqual(['group.created', 'group.op.applied', 'group.member.added'])
    expect(seen[2]).toMatchObject({ identity: id58(keys.owner), role: 'admin' })
  })
})
