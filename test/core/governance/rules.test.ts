import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createInvitation } from '../../../src/core/governance/invitation.js'
import { Capability } from '../../../src/core/governance/ops.js'
import { fixture, inject, keys } from './helpers.js'

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
    const invitation = createInvitation(keys.a, Buffer.from(groupId, 'hex'), 'member', Date.now() + 60_000, contextId)
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
