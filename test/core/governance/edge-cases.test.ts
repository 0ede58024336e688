import { describe, expect, it } from 'vitest'
import { EventBus } from '../../../src/core/node/event-bus.js'
import { relayEvents } from '../../../src/core/node/relay.js'
import type { NodeEvent } from '../../../src/core/node/events.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { createInvitation } from '../../../src/core/governance/invitation.js'
import { Capability, type SignedOp } from '../../../src/core/governance/ops.js'
import { fixture, id58, inject, keys, memberRoles, raw } from '../governance/helpers.js'
import { viewOf } from './helpers.js'

// Review of src/core/governance/fold.ts against reference/original-governance.md §8 (HEAD: ownership,
// re-entry). Each case is a concurrent history that must converge to a state the rules allow,
// delivered in both orders to fresh replicas.

const bytes = (ops: SignedOp[]) => ops.map((o) => o.bytes)

/** Replays `ops` into a fresh replica in the given order and returns it. */
function replica(ops: SignedOp[]): GroupStore {
  const r = new GroupStore()
  r.ingest(bytes(ops))
  const groupId = ops[0]!.id
  expect(r.pendingCount(groupId)).toBe(0)
  expect(viewOf(r, groupId).opCount).toBe(ops.length)
  return r
}

/** owner + admins a, b (+ member c), all on one line of history. */
function base() {
  const f = fixture()
  const ops = [f.genesis]
  ops.push(f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'admin' }))
  ops.push(f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.b.publicKey, role: 'admin' }))
  ops.push(f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' }))
  return { ...f, ops, heads: () => f.store.heads(f.groupId) }
}

describe('governance edge cases (reference §8)', () => {
  for (const concurrent of ['RoleSet', 'MemberRemoved'] as const) {
    it(`ownership transferred to b while an admin concurrently ${concurrent === 'RoleSet' ? 'demotes' : 'removes'} b: the owner stays an admin everywhere`, () => {
      const f = base()
      const cut = f.heads()
      const transfer = raw(f.groupId, keys.owner, cut, 4n, { kind: 'OwnershipTransferred', newOwner: keys.b.publicKey })
      const other = raw(f.groupId, keys.a, cut, 1n, concurrent === 'RoleSet' ? { kind: 'RoleSet', member: keys.b.publicKey, role: 'member' } : { kind: 'MemberRemoved', member: keys.b.publicKey })
      const hashes = [replica([...f.ops, transfer, other]), replica([...f.ops, other, transfer])].map((r) => {
        expect(r.ops(f.groupId).every((o) => o.status === 'applied')).toBe(true)
        const view = viewOf(r, f.groupId)
        expect(view.owner).toBe(id58(keys.b))
        // a group's owner is always one of its admins (the owner cannot be demoted or removed)
        expect(memberRoles(r, f.groupId)[id58(keys.b)]).toBe('admin')
        expect(r.isMember(f.groupId, keys.b.publicKey)).toBe(true)
        // ...so the new owner can still act as the owner
        const hash = view.stateHash
        expect(inject(r, f.groupId, keys.b, { kind: 'GroupDeleted' }).result.status).toBe('applied')
        return hash
      })
      expect(hashes[0]).toBe(hashes[1])
    })
  }

  it("member events follow the owner's derived admin role in every delivery order", () => {
    const f = base()
    const cut = f.heads()
    const transfer = raw(f.groupId, keys.owner, cut, 4n, { kind: 'OwnershipTransferred', newOwner: keys.b.publicKey })
    const removal = raw(f.groupId, keys.a, cut, 1n, { kind: 'MemberRemoved', member: keys.b.publicKey })
    for (const order of [[transfer, removal], [removal, transfer]]) {
      const bus = new EventBus()
      const seen: NodeEvent[] = []
      bus.on((e) => seen.push(e))
      const r = new GroupStore()
      relayEvents(bus, { governance: r.events })
      r.ingest(bytes([...f.ops, ...order]))
      // fold b's member events: b must end up a member (the owner), as the view says
      let bIsMember = false
      for (const e of seen) {
        if ((e.type === 'group.member.added' || e.type === 'group.member.updated') && e.identity === id58(keys.b)) bIsMember = e.role === 'admin'
        if (e.type === 'group.member.removed' && e.identity === id58(keys.b)) bIsMember = false
      }
      expect(bIsMember).toBe(true)
    }
  })

  it('a member removed while concurrently leaving stays blocked: a fresh invitation does not readmit them', () => {
    const f = base()
    const cut = f.heads()
    const removal = raw(f.groupId, keys.a, cut, 1n, { kind: 'MemberRemoved', member: keys.c.publicKey })
    // c's leave sits one generation deeper, so its member-slot write outranks the removal's
    const alias = raw(f.groupId, keys.c, cut, 1n, { kind: 'MemberAliasSet', member: keys.c.publicKey, alias: 'cee' })
    const leave = raw(f.groupId, keys.c, [alias.id], 2n, { kind: 'MemberLeft' })
    const all = [...f.ops, removal, alias, leave]
    for (const order of [all, [...f.ops, leave, alias, removal]]) {
      const r = replica(order)
      expect(r.isMember(f.groupId, keys.c.publicKey)).toBe(false)
      const inv = createInvitation(keys.owner, f.groupId, 'member', Date.now() + 60_000)
      const claim = inject(r, f.groupId, keys.c, { kind: 'InvitationClaimed', invitation: inv, joinedAt: BigInt(Date.now()) })
      expect(claim.result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/removed member/) })
      expect(r.isMember(f.groupId, keys.c.publicKey)).toBe(false)
    }
  })

  it('only an admin re-admits a removed member; a manage-members holder cannot', () => {
    const f = base()
    f.ops.push(f.store.issue(f.groupId, keys.owner, { kind: 'MemberAdded', member: keys.d.publicKey, role: 'member' }))
    f.ops.push(f.store.issue(f.groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.d.publicKey, capabilities: Capability.ManageMembers }))
    f.ops.push(f.store.issue(f.groupId, keys.a, { kind: 'MemberRemoved', member: keys.c.publicKey }))
    const byManager = inject(f.store, f.groupId, keys.d, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' })
    expect(byManager.result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/removed member/) })
    expect(f.store.isMember(f.groupId, keys.c.publicKey)).toBe(false)
    // a manage-members holder may still add someone who was never removed
    expect(inject(f.store, f.groupId, keys.d, { kind: 'MemberAdded', member: Buffer.alloc(32, 7), role: 'member' }).result.status).toBe('applied')
    // the admin's re-add lifts the block: after leaving again, a fresh invitation readmits c
    expect(inject(f.store, f.groupId, keys.a, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' }).result.status).toBe('applied')
    expect(inject(f.store, f.groupId, keys.c, { kind: 'MemberLeft' }).result.status).toBe('applied')
    const inv = createInvitation(keys.owner, f.groupId, 'member', Date.now() + 60_000)
    expect(inject(f.store, f.groupId, keys.c, { kind: 'InvitationClaimed', invitation: inv, joinedAt: BigInt(Date.now()) }).result.status).toBe('applied')
    expect(f.store.isMember(f.groupId, keys.c.publicKey)).toBe(true)
  })

  it('a read-only member holding invite-members cannot admit anyone (read-only members only leave, alias themselves and join contexts)', () => {
    const f = base()
    f.store.issue(f.groupId, keys.owner, { kind: 'RoleSet', member: keys.c.publicKey, role: 'read-only' })
    f.store.issue(f.groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.c.publicKey, capabilities: Capability.InviteMembers })
    const inv = createInvitation(keys.c, f.groupId, 'member', Date.now() + 60_000)
    const claim = inject(f.store, f.groupId, keys.d, { kind: 'InvitationClaimed', invitation: inv, joinedAt: BigInt(Date.now()) })
    expect(claim.result).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/read-only members may not invite/) })
    // the same capability on a full member admits the joiner
    f.store.issue(f.groupId, keys.owner, { kind: 'RoleSet', member: keys.c.publicKey, role: 'member' })
    expect(inject(f.store, f.groupId, keys.d, { kind: 'InvitationClaimed', invitation: inv, joinedAt: BigInt(Date.now()) }).result.status).toBe('applied')
  })

  it('a concurrent admin re-add and removal resolve to the same winner in membership and re-entry', () => {
    const f = base()
    f.ops.push(f.store.issue(f.groupId, keys.a, { kind: 'MemberRemoved', member: keys.c.publicKey }))
    const cut = f.heads()
    const readd = raw(f.groupId, keys.b, cut, 1n, { kind: 'MemberAdded', member: keys.c.publicKey, role: 'member' })
    const leaveAfter = raw(f.groupId, keys.c, [readd.id], 1n, { kind: 'MemberLeft' })
    const again = raw(f.groupId, keys.a, cut, 2n, { kind: 'MemberAliasSet', member: keys.a.publicKey, alias: 'x' })
    const replicas = [[...f.ops, readd, leaveAfter, again], [...f.ops, again, leaveAfter, readd], [...f.ops, leaveAfter, again, readd]].map(replica)
    expect(new Set(replicas.map((r) => viewOf(r, f.groupId).stateHash)).size).toBe(1)
    for (const r of replicas) {
      // c left after the admin re-add, so a fresh invitation readmits c
      const inv = createInvitation(keys.owner, f.groupId, 'member', Date.now() + 60_000)
      expect(inject(r, f.groupId, keys.c, { kind: 'InvitationClaimed', invitation: inv, joinedAt: BigInt(Date.now()) }).result.status).toBe('applied')
    }
  })
})
