import { createInvitation, decodeToken, encodeToken, invitationId, invitationSignatureValid } from '../../core/governance/invitation.js'
import { capabilityBits, capabilityList, decodeSignedOp, type GroupOp } from '../../core/governance/ops.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58, fromHex, toBase58 } from '../../core/primitives/encoding.js'
import { MeroError } from '../../core/primitives/errors.js'
import { isHex32 } from '../../core/primitives/ids.js'
import { resolveGroup, resolveId, resolveIdentity } from './resolve.js'
import type { Handlers } from './types.js'

async function issue(node: MeroNode, groupId: string, op: GroupOp): Promise<string> {
  return (await node.issueGroupOp(groupId, op)).id.toString('hex')
}

function requireReplicator(node: MeroNode) {
  if (!node.replicator) throw new MeroError('Unavailable', 'this node runs without a p2p network')
  return node.replicator
}

function groupSummary(node: MeroNode, groupId: string) {
  const v = node.groups.view(groupId)
  const me = v.members.find((m) => m.identity === node.identityBase58)
  return { groupId, alias: v.alias ?? node.aliases.aliasesOf('group', groupId)[0] ?? null, owner: v.owner, myRole: me?.role ?? null, members: v.members.length, contexts: v.contexts.length, stateHash: v.stateHash, deleted: v.deleted }
}

function capsChange(current: number, grant: string[], revoke: string[]): number {
  return (current | capabilityBits(grant)) & ~capabilityBits(revoke)
}

/**
 * group.* — governance (seed 000's group handlers). Every change is a signed op issued by this
 * node's identity on top of the group's heads; an op the identity may not issue is refused with
 * the reason and nothing is stored.
 */
export const groupHandlers = {
  'group.create': async ({ alias, application }, { node }) => {
    const app = application ? fromBase58(resolveId(node, 'application', application), 'application id', 32) : undefined
    const groupId = node.createGroup({ application: app })
    if (alias) node.aliases.create('group', alias, groupId)
    return { groupId, owner: node.identityBase58 }
  },
  'group.list': async (_p, { node }) => ({ groups: node.groups.groupIds().sort().map((g) => groupSummary(node, g)) }),
  'group.get': async ({ group }, { node }) => {
    const id = resolveGroup(node, group)
    const view = node.groups.view(id)
    // this node's own aliases beside the group's, as `context get` shows them
    const contexts = view.contexts.map((c) => ({ ...c, localAlias: node.aliases.aliasesOf('context', c.contextId)[0] ?? null }))
    return { ...view, contexts, localAlias: node.aliases.aliasesOf('group', id)[0] ?? null }
  },
  'group.members': async ({ group }, { node }) => {
    const v = node.groups.view(resolveGroup(node, group))
    return { groupId: v.groupId, owner: v.owner, members: v.members }
  },
  'group.delete': async ({ group }, { node }) => {
    const id = resolveGroup(node, group)
    return { groupId: id, opId: await issue(node, id, { kind: 'GroupDeleted' }) }
  },
  'group.addMembers': async ({ group, identities, role }, { node }) => {
    const id = resolveGroup(node, group)
    const keys = identities.map((i) => resolveIdentity(node, i))
    const opIds: string[] = []
    for (const k of keys) opIds.push(await issue(node, id, { kind: 'MemberAdded', member: k, role }))
    return { groupId: id, added: keys.map((k) => toBase58(k)), role, opIds }
  },
  'group.removeMembers': async ({ group, identities }, { node }) => {
    const id = resolveGroup(node, group)
    const keys = identities.map((i) => resolveIdentity(node, i))
    const opIds: string[] = []
    for (const k of keys) opIds.push(await issue(node, id, { kind: 'MemberRemoved', member: k }))
    return { groupId: id, removed: keys.map((k) => toBase58(k)), opIds }
  },
  'group.leave': async ({ group }, { node }) => {
    const id = resolveGroup(node, group)
    return { groupId: id, opId: await issue(node, id, { kind: 'MemberLeft' }) }
  },
  'group.updateMemberRole': async ({ group, identity, role }, { node }) => {
    const id = resolveGroup(node, group)
    const key = resolveIdentity(node, identity)
    return { groupId: id, identity: toBase58(key), role, opId: await issue(node, id, { kind: 'RoleSet', member: key, role }) }
  },
  'group.setMemberCapabilities': async ({ group, identity, grant, revoke }, { node }) => {
    const id = resolveGroup(node, group)
    const key = resolveIdentity(node, identity)
    const member = node.groups.view(id).members.find((m) => m.identity === toBase58(key))
    if (!member) throw new MeroError('MemberNotFound', `${toBase58(key)} is not a member of ${id}`)
    const current = (node.groups.state(id).current(`caps/${key.toString('hex')}`) as number | undefined) ?? 0
    const capabilities = capsChange(current, grant, revoke)
    const opId = await issue(node, id, { kind: 'CapabilitiesSet', member: key, capabilities })
    return { groupId: id, identity: toBase58(key), capabilities, capabilityNames: capabilityList(capabilities), opId }
  },
  'group.getCapabilities': async ({ group, identity }, { node }) => {
    const id = resolveGroup(node, group)
    const key = toBase58(resolveIdentity(node, identity))
    const m = node.groups.view(id).members.find((x) => x.identity === key)
    if (!m) throw new MeroError('MemberNotFound', `${key} is not a member of ${id}`)
    return { groupId: id, identity: key, role: m.role, capabilities: m.capabilities, capabilityNames: m.capabilityNames }
  },
  'group.setDefaultCapabilities': async ({ group, grant, revoke }, { node }) => {
    const id = resolveGroup(node, group)
    const defaultCapabilities = capsChange(node.groups.view(id).settings.defaultCapabilities, grant, revoke)
    const opId = await issue(node, id, { kind: 'DefaultCapabilitiesSet', capabilities: defaultCapabilities })
    return { groupId: id, defaultCapabilities, defaultCapabilityNames: capabilityList(defaultCapabilities), opId }
  },
  'group.setDefaultVisibility': async ({ group, visibility }, { node }) => {
    const id = resolveGroup(node, group)
    return { groupId: id, visibility, opId: await issue(node, id, { kind: 'DefaultVisibilitySet', visibility }) }
  },
  'group.setAlias': async ({ group, alias }, { node }) => {
    const id = resolveGroup(node, group)
    return { groupId: id, alias, opId: await issue(node, id, { kind: 'GroupAliasSet', alias }) }
  },
  'group.setMemberAlias': async ({ group, identity, alias }, { node }) => {
    const id = resolveGroup(node, group)
    const key = resolveIdentity(node, identity)
    return { groupId: id, identity: toBase58(key), alias, opId: await issue(node, id, { kind: 'MemberAliasSet', member: key, alias }) }
  },
  'group.transferOwnership': async ({ group, identity }, { node }) => {
    const id = resolveGroup(node, group)
    const key = resolveIdentity(node, identity)
    return { groupId: id, owner: toBase58(key), opId: await issue(node, id, { kind: 'OwnershipTransferred', newOwner: key }) }
  },
  'group.upgrade': async ({ group, application }, { node }) => {
    const id = resolveGroup(node, group)
    const app = fromBase58(resolveId(node, 'application', application), 'application id', 32)
    const opId = await issue(node, id, { kind: 'TargetApplicationSet', application: app })
    return { groupId: id, targetApplication: toBase58(app), contexts: node.groups.view(id).contexts.length, opId }
  },
  'group.detachContext': async ({ group, context }, { node }) => {
    const id = resolveGroup(node, group)
    const ctx = fromBase58(resolveId(node, 'context', context), 'context id', 32)
    return { groupId: id, contextId: toBase58(ctx), opId: await issue(node, id, { kind: 'ContextDetached', contextId: ctx }) }
  },
  'group.join': async ({ token }, { node }) => {
    requireReplicator(node)
    const r = await node.joinGroup(token)
    return { ...r, identity: node.identityBase58 }
  },
  'group.sync': async ({ group }, { node }) => {
    const id = resolveGroup(node, group)
    const r = await requireReplicator(node).syncNow(id)
    return { groupId: id, ...r, stateHash: node.groups.view(id).stateHash }
  },
  'group.ops': async ({ group, limit }, { node }) => {
    const id = resolveGroup(node, group)
    const ops = node.groups.ops(id)
    return { groupId: id, total: ops.length, pending: node.groups.pendingCount(id), ops: limit ? ops.slice(-limit) : ops }
  },
  'group.applySignedOp': async ({ op }, { node }) => {
    const text = op.trim()
    const bytes = /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? fromHex(text, 'op') : Buffer.from(text, 'base64')
    let decoded
    try {
      decoded = decodeSignedOp(bytes)
    } catch (e) {
      throw new MeroError('InvalidOp', `the op was not accepted: ${(e as Error).message}`)
    }
    if (decoded.op.kind !== 'GroupCreated' && !node.groups.has(decoded.groupId.toString('hex'))) {
      throw new MeroError('GroupNotFound', `the op is for group ${decoded.groupId.toString('hex')}, which this node does not hold; nothing was stored`)
    }
    const [r] = node.groups.ingest([bytes])
    if (r!.status === 'invalid') throw new MeroError('InvalidOp', `the op was not accepted: ${r!.reason}`)
    return r
  },
  'group.createInvitation': async ({ group, role, expiresInSecs, context, maxUses }, { node }) => {
    const id = resolveGroup(node, group)
    const contextId = context ? fromBase58(resolveId(node, 'context', context), 'context id', 32) : undefined
    // refused here when the claim would be rejected: the same rules, on the current state
    node.groups.checkInvitation(id, node.identity.publicKey, role, contextId)
    const expiresAt = Date.now() + expiresInSecs * 1000
    const inv = createInvitation(node.identity, Buffer.from(id, 'hex'), role, expiresAt, contextId, undefined, maxUses)
    const invitationIdHex = invitationId(inv).toString('hex')
    const token = encodeToken(inv, { peerId: node.peerId, addresses: node.advertisedAddresses.map((a) => `${a}/p2p/${node.peerId}`) })
    node.invitations.add({ invitationId: invitationIdHex, groupId: id, role, expiresAt, createdAt: Date.now(), token })
    node.events.emit({ type: 'invitation.created', groupId: id, invitationId: invitationIdHex, role, expiresAt, ...(contextId ? { contextId: toBase58(contextId) } : {}) })
    return { token, invitationId: invitationIdHex, groupId: id, role, expiresAt, maxUses, ...(context ? { contextId: toBase58(contextId!) } : {}) }
  },
  'group.inspectInvitation': async ({ token }, { node }) => {
    const d = decodeToken(token)
    const groupId = d.invitation.groupId.toString('hex')
    const id = d.id.toString('hex')
    const known = node.groups.has(groupId)
    const state = known ? node.groups.invitationState(groupId, id) : undefined
    return {
      invitationId: id,
      groupId,
      inviter: toBase58(d.invitation.inviter),
      role: d.invitation.role,
      expiresAt: Number(d.invitation.expiresAt),
      expired: Number(d.invitation.expiresAt) < Date.now(),
      signatureValid: invitationSignatureValid(d.invitation),
      ...(d.invitation.maxUses !== undefined ? { maxUses: d.invitation.maxUses } : {}),
      ...(state ? { revoked: state.revoked, claimedBy: state.claimedBy } : {}),
      peerId: d.hints.peerId,
      addresses: d.hints.addresses,
    }
  },
  'group.revokeInvitation': async ({ invitation }, { node }) => {
    let signed
    if (isHex32(invitation)) {
      const issued = node.invitations.get(invitation.toLowerCase())
      signed = issued ? decodeToken(issued.token).invitation : undefined
      if (!signed) throw new MeroError('NotFound', `this node issued no invitation ${invitation}; pass the token instead`)
    } else {
      signed = decodeToken(invitation).invitation
    }
    const groupId = signed.groupId.toString('hex')
    if (!node.groups.has(groupId)) throw new MeroError('GroupNotFound', `no group ${groupId} on this node`)
    const invitationIdBuf = invitationId(signed)
    const opId = await issue(node, groupId, { kind: 'InvitationRevoked', invitationId: invitationIdBuf, invitation: signed.inviter.equals(node.identity.publicKey) ? signed : undefined })
    return { invitationId: invitationIdBuf.toString('hex'), groupId, opId }
  },
  'group.listInvitations': async (_p, { node }) => ({
    invitations: node.invitations.list().map((i) => {
      const s = node.groups.invitationState(i.groupId, i.invitationId)
      const maxUses = decodeToken(i.token).invitation.maxUses ?? null
      // claims past its uses admitted nobody (the fold's claim rule)
      const uses = maxUses === null ? s.claimedBy.length : Math.min(s.claimedBy.length, maxUses)
      const remaining = maxUses === null ? null : maxUses - uses
      const state = s.revoked ? 'revoked' : i.expiresAt < Date.now() ? 'expired' : remaining === 0 ? 'used up' : 'active'
      return { invitationId: i.invitationId, groupId: i.groupId, role: i.role, expiresAt: i.expiresAt, createdAt: i.createdAt, state, claimedBy: s.claimedBy, maxUses, uses, remaining, token: i.token }
    }),
  }),
} satisfies Handlers<'group'>
