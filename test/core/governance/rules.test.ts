import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generateKeyPair, type KeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { createInvitation, invitationId } from '../../../src/core/governance/invitation.js'
import { Capability, type SignedInvitation } from '../../../src/core/governance/ops.js'
import { fixture, id58, inject, keys, viewOf } from './helpers.js'

// Rules of GroupState's table (governance/fold.ts) that no other test reaches.

describe('rules per op', () => {
  it('a read-only member may leave, set its own alias, and join and leave an open context; nothing else', () => {
    const { store, groupId } = fixture()
    store.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'read-only' })
    const contextId = randomBytes(32)
    store.issue(groupId, keys.owner, { kind: 'ContextRegistered', contextId, application: randomBytes(32) })
    const a = (op: Parameters<typeof inject>[3]) => inject(store, groupId, keys.a, op).result
    expect(a({ kind: 'MemberAliasSet', member: keys.a.publicKey, alias: 'reader' })).toMatchObject({ status: 'applied' })
    expect(a({ kind: 'ContextJoined', contextId })).toMatchObject({ status: 'applied' })
    expect(a({ kind: 'ContextLeft', contextId })).toMatchObject({ status: 'applied' })
    for (const op of [
      { kind: 'GroupAliasSet', alias: 'x' },
      { kind: 'ContextRegistered', contextId: randomBytes(32), application: randomBytes(32) },
      { kind: 'MemberRemoved', member: keys.owner.publicKey },
    ] as const) {
      expect(a(op)).toMatchObject({ status: 'rejected', reason: 'read-only members cannot issue this op' })
    }
    expect(a({ kind: 'MemberLeft' })).toMatchObject({ status: 'applied' })
  })

  it('an invitation into an open context is claimed only when its inviter had joined it', () => {
    const { store, groupId } = fixture()
    store.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'member' })
    store.issue(groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.a.publicKey, capabilities: Capability.InviteMembers | Capability.JoinOpenContexts })
    const contextId = randomBytes(32)
    store.issue(groupId, keys.owner, { kind: 'ContextRegistered', contextId, application: randomBytes(32) })
    const invitation = createInvitation(keys.a, groupId, 'member', Date.now() + 60_000, contextId)
    const early = inject(store, groupId, keys.b, { kind: 'InvitationClaimed', invitation, joinedAt: BigInt(Date.now()) })
    expect(early.result).toMatchObject({ status: 'rejected', reason: 'the inviter has not joined the context' })
    inject(store, groupId, keys.a, { kind: 'ContextJoined', contextId })
    const later = inject(store, groupId, keys.c, { kind: 'InvitationClaimed', invitation, joinedAt: BigInt(Date.now()) })
    expect(later.result).toMatchObject({ status: 'applied' })
  })

  it('an invitation the claim would reject is refused when it is created, by the same rules', () => {
    const { store, groupId } = fixture()
    store.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'read-only' })
    store.issue(groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.a.publicKey, capabilities: Capability.InviteMembers })
    store.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.b.publicKey, role: 'member' })
    store.issue(groupId, keys.owner, { kind: 'CapabilitiesSet', member: keys.b.publicKey, capabilities: Capability.InviteMembers })
    const contextId = randomBytes(32)
    store.issue(groupId, keys.owner, { kind: 'ContextRegistered', contextId, application: randomBytes(32) })
    const refused = (fn: () => void) => {
      try {
        fn()
      } catch (e) {
        return e as { kind: string; message: string }
      }
      throw new Error('not refused')
    }
    expect(refused(() => store.checkInvitation(groupId, keys.a.publicKey, 'member'))).toMatchObject({ kind: 'NotAuthorized', message: expect.stringMatching(/read-only members may not invite/) })
    expect(refused(() => store.checkInvitation(groupId, keys.b.publicKey, 'admin'))).toMatchObject({ kind: 'NotAuthorized', message: expect.stringMatching(/only admins may invite admins/) })
    expect(refused(() => store.checkInvitation(groupId, keys.b.publicKey, 'member', contextId))).toMatchObject({ kind: 'NotAuthorized', message: expect.stringMatching(/has not joined the context/) })
    expect(refused(() => store.checkInvitation(groupId, keys.owner.publicKey, 'member', randomBytes(32)))).toMatchObject({ kind: 'ContextNotFound' })
    expect(refused(() => store.checkInvitation(groupId, keys.c.publicKey, 'member'))).toMatchObject({ kind: 'NotAuthorized', message: expect.stringMatching(/is not a member/) })
    store.checkInvitation(groupId, keys.b.publicKey, 'member')
    store.checkInvitation(groupId, keys.owner.publicKey, 'admin', contextId)
    store.issue(groupId, keys.owner, { kind: 'GroupDeleted' })
    expect(refused(() => store.checkInvitation(groupId, keys.owner.publicKey, 'member'))).toMatchObject({ kind: 'GroupDeleted' })
  })
})

describe('invitation uses', () => {
  const claim = (store: GroupStore, groupId: Buffer, who: KeyPair, invitation: SignedInvitation) => inject(store, groupId, who, { kind: 'InvitationClaimed', invitation, joinedAt: BigInt(Date.now()) }).result

  it('a single-use invitation admits one identity; --max-uses 3 admits three and refuses the fourth', () => {
    const { store, groupId } = fixture()
    const once = createInvitation(keys.owner, groupId, 'member', Date.now() + 60_000)
    expect(claim(store, groupId, keys.a, once)).toMatchObject({ status: 'applied' })
    expect(claim(store, groupId, keys.b, once)).toMatchObject({ status: 'rejected', reason: 'the invitation has been used 1 time, all it allows' })
    const thrice = createInvitation(keys.owner, groupId, 'member', Date.now() + 60_000, undefined, undefined, 3)
    for (const k of [keys.b, keys.c, keys.d]) expect(claim(store, groupId, k, thrice)).toMatchObject({ status: 'applied' })
    expect(claim(store, groupId, generateKeyPair(), thrice)).toMatchObject({ status: 'rejected', reason: 'the invitation has been used 3 times, all it allows' })
    expect(store.invitationState(groupId, invitationId(thrice)).claimedBy).toHaveLength(3)
  })

  it('two concurrent claims of a single-use invitation: every replica keeps the same one member', () => {
    const { store: r1, groupId, genesis } = fixture()
    const r2 = new GroupStore()
    r2.ingest([genesis.bytes])
    const once = createInvitation(keys.owner, groupId, 'member', Date.now() + 60_000)
    const a = claim(r1, groupId, keys.a, once)
    const b = claim(r2, groupId, keys.b, once)
    expect([a.status, b.status]).toEqual(['applied', 'applied']) // neither saw the other
    r1.ingest(r2.getOps(groupId, r2.heads(groupId)))
    r2.ingest(r1.getOps(groupId, r1.heads(groupId)))
    const members = (s: GroupStore) => viewOf(s, groupId).members.map((m) => m.identity).filter((m) => m !== id58(keys.owner))
    expect(members(r1)).toHaveLength(1)
    expect(members(r2)).toEqual(members(r1))
    expect(viewOf(r1, groupId).stateHash).toBe(viewOf(r2, groupId).stateHash)
  })
})
