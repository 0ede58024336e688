import { createInvitation, decodeToken, encodeToken, invitationId, invitationSignatureValid } from '../../core/governance/invitation.js'
import { capabilityBits, capabilityList, decodeSignedOp, type GroupOp } from '../../core/governance/ops.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58, fromHex, toBase58 } from '../../core/primitives/encoding.js'
import { MeroError } from '../../core/primitives/errors.js'
import { byIdBytes, groupIdToString, isHex32, opIdToString } from '../../core/primitives/ids.js'
import { groupView, ingestResultView, memberInfo, opRecord } from '../../api/governance-json.js'
import { resolveGroup, resolveId, resolveIdentity } from './resolve.js'
import type { Handlers } from './types.js'

async function issue(node: MeroNode, groupId: Buffer, op: GroupOp): Promise<string> {
  return opIdToString((await node.issueGroupOp(groupId, op)).id)
}

function requireReplicator(node: MeroNode) {
  if (!node.replicator) throw new MeroError('Unavailable', 'this node runs without a p2p network')
  return node.replicator
}

function groupSummary(node: MeroNode, groupId: Buffer) {
  const v = groupView(node.groups.view(groupId))
  const me = v.members.find((m) => m.identity === node.identityBase58)
  return { groupId: v.groupId, alias: v.alias ?? node.aliases.aliasesOf('group', v.groupId)[0] ?? null, owner: v.owner, myRole: me?.role ?? null, members: v.members.length, contexts: v.contexts.length, stateHash: v.stateHash, deleted: v.deleted }
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
    const groupId = groupIdToString(node.createGroup({ application: app }))
    if (alias) node.aliases.create('group', alias, groupId)
    return { groupId, owner: node.identityBase58 }
  },
  'group.list': async (_p, { node }) => ({ groups: node.groups.groupIds().sort(byIdBytes).map((g) => groupSummary(node, g)) }),
  'group.get': async ({ group }, { node }) => {
    const view = groupView(node.groups.view(resolveGroup(node, group)))
    // this node's own aliases beside the group's, as `context get` shows them
    const contexts = view.contexts.map((c) => ({ ...c, localAlias: node.aliases.aliasesOf('context', c.contextId)[0] ?? null }))
    return { ...view, contexts, localAlias: node.aliases.aliasesOf('group', view.groupId)[0] ?? null }
  },
  'group.members': async ({ group }, { node }) => {
    const v = node.groups.view(resolveGroup(node, group))
    return { groupId: groupIdToString(v.groupId), owner: toBase58(v.owner), members: v.members.map(memberInfo) }
  },
  'group.delete': async ({ group }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    return { groupId: gid, opId: await issue(node, id, { kind: 'GroupDeleted' }) }
  },
  'group.addMembers': async ({ group, identities, role }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const keys = identities.map((i) => resolveIdentity(node, i))
    const opIds: string[] = []
    for (const k of keys) opIds.push(await issue(node, id, { kind: 'MemberAdded', member: k, role }))
    return { groupId: gid, added: keys.map((k) => toBase58(k)), role, opIds }
  },
  'group.removeMembers': async ({ group, identities }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const keys = identities.map((i) => resolveIdentity(node, i))
    const opIds: string[] = []
    for (const k of keys) opIds.push(await issue(node, id, { kind: 'MemberRemoved', member: k }))
    return { groupId: gid, removed: keys.map((k) => toBase58(k)), opIds }
  },
  'group.leave': async ({ group }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    return { groupId: gid, opId: await issue(node, id, { kind: 'MemberLeft' }) }
  },
  'group.updateMemberRole': async ({ group, identity, role }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const key = resolveIdentity(node, identity)
    return { groupId: gid, identity: toBase58(key), role, opId: await issue(node, id, { kind: 'RoleSet', member: key, role }) }
  },
  'group.setMemberCapabilities': async ({ group, identity, grant, revoke }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const key = resolveIdentity(node, identity)
    const member = node.groups.member(id, key)
    if (!member) throw new MeroError('MemberNotFound', `${toBase58(key)} is not a member of ${gid}`)
    const current = (node.groups.state(id).current(`caps/${key.toString('hex')}`) as number | undefined) ?? 0
    const capabilities = capsChange(current, grant, revoke)
    const opId = await issue(node, id, { kind: 'CapabilitiesSet', member: key, capabilities })
    return { groupId: gid, identity: toBase58(key), capabilities, capabilityNames: capabilityList(capabilities), opId }
  },
  'group.getCapabilities': async ({ group, identity }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const found = node.groups.member(id, resolveIdentity(node, identity))
    const key = toBase58(resolveIdentity(node, identity))
    if (!found) throw new MeroError('MemberNotFound', `${key} is not a member of ${gid}`)
    const m = memberInfo(found)
    return { groupId: gid, identity: key, role: m.role, capabilities: m.capabilities, capabilityNames: m.capabilityNames }
  },
  'group.setDefaultCapabilities': async ({ group, grant, revoke }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const defaultCapabilities = capsChange(node.groups.view(id).settings.defaultCapabilities, grant, revoke)
    const opId = await issue(node, id, { kind: 'DefaultCapabilitiesSet', capabilities: defaultCapabilities })
    return { groupId: gid, defaultCapabilities, defaultCapabilityNames: capabilityList(defaultCapabilities), opId }
  },
  'group.setDefaultVisibility': async ({ group, visibility }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    return { groupId: gid, visibility, opId: await issue(node, id, { kind: 'DefaultVisibilitySet', visibility }) }
  },
  'group.setAlias': async ({ group, alias }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    return { groupId: gid, alias, opId: await issue(node, id, { kind: 'GroupAliasSet', alias }) }
  },
  'group.setMemberAlias': async ({ group, identity, alias }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const key = resolveIdentity(node, identity)
    return { groupId: gid, identity: toBase58(key), alias, opId: await issue(node, id, { kind: 'MemberAliasSet', member: key, alias }) }
  },
  'group.transferOwnership': async ({ group, identity }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const key = resolveIdentity(node, identity)
    return { groupId: gid, owner: toBase58(key), opId: await issue(node, id, { kind: 'OwnershipTransferred', newOwner: key }) }
  },
  'group.upgrade': async ({ group, application }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const app = fromBase58(resolveId(node, 'application', application), 'application id', 32)
    const opId = await issue(node, id, { kind: 'TargetApplicationSet', application: app })
    return { groupId: gid, targetApplication: toBase58(app), contexts: node.groups.contexts(id).length, opId }
  },
  'group.detachContext': async ({ group, context }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const ctx = fromBase58(resolveId(node, 'context', context), 'context id', 32)
    return { groupId: gid, contextId: toBase58(ctx), opId: await issue(node, id, { kind: 'ContextDetached', contextId: ctx }) }
  },
  'group.join': async ({ token }, { node }) => {
    requireReplicator(node)
    const r = await node.joinGroup(token)
    const { contextId, contextSync } = r
    return { groupId: groupIdToString(r.groupId), opId: opIdToString(r.opId), fetched: r.fetched, ...(contextId ? { contextId: toBase58(contextId), contextSync } : {}), identity: node.identityBase58 }
  },
  'group.sync': async ({ group }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const r = await requireReplicator(node).syncNow(id)
    return { groupId: gid, ...r, stateHash: node.groups.state(id).stateHash().toString('hex') }
  },
  'group.ops': async ({ group, limit }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const ops = node.groups.ops(id)
    return { groupId: gid, total: ops.length, pending: node.groups.pendingCount(id), ops: (limit ? ops.slice(-limit) : ops).map(opRecord) }
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
    if (decoded.op.kind !== 'GroupCreated' && !node.groups.has(decoded.groupId)) {
      throw new MeroError('GroupNotFound', `the op is for group ${decoded.groupId.toString('hex')}, which this node does not hold; nothing was stored`)
    }
    const [r] = node.groups.ingest([bytes])
    if (r!.status === 'invalid') throw new MeroError('InvalidOp', `the op was not accepted: ${r!.reason}`)
    return ingestResultView(r!)
  },
  'group.createInvitation': async ({ group, role, expiresInSecs, context, maxUses }, { node }) => {
    const id = resolveGroup(node, group)
    const gid = groupIdToString(id)
    const contextId = context ? fromBase58(resolveId(node, 'context', context), 'context id', 32) : undefined
    // refused here when the claim would be rejected: the same rules, on the current state
    node.groups.checkInvitation(id, node.identity.publicKey, role, contextId)
    const expiresAt = Date.now() + expiresInSecs * 1000
    const inv = createInvitation(node.identity, id, role, expiresAt, contextId, undefined, maxUses)
    const invitationIdHex = invitationId(inv).toString('hex')
    const token = encodeToken(inv, { peerId: node.peerId, addresses: node.advertisedAddresses.map((a) => `${a}/p2p/${node.peerId}`) })
    node.invitations.add({ invitationId: invitationIdHex, groupId: gid, role, expiresAt, createdAt: Date.now(), token })
    node.events.emit({ type: 'invitation.created', groupId: gid, invitationId: invitationIdHex, role, expiresAt, ...(contextId ? { contextId: toBase58(contextId) } : {}) })
    return { token, invitationId: invitationIdHex, groupId: gid, role, expiresAt, maxUses, ...(context ? { contextId: toBase58(contextId!) } : {}) }
  },
  'group.inspectInvitation': async ({ token }, { node }) => {
    const d = decodeToken(token)
    const groupId = groupIdToString(d.invitation.groupId)
    const id = d.id.toString('hex')
    const known = node.groups.has(d.invitation.groupId)
    const state = known ? node.groups.invitationState(d.invitation.groupId, d.id) : undefined
    return {
      invitationId: id,
      groupId,
      inviter: toBase58(d.invitation.inviter),
      role: d.invitation.role,
      expiresAt: Number(d.invitation.expiresAt),
      expired: Number(d.invitation.expiresAt) < Date.now(),
      signatureValid: invitationSignatureValid(d.invitation),
      ...(d.invitation.maxUses !== undefined ? { maxUses: d.invitation.maxUses } : {}),
      ...(state ? { revoked: state.revoked, claimedBy: state.claimedBy.map(toBase58) } : {}),
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
    const groupId = groupIdToString(signed.groupId)
    if (!node.groups.has(signed.groupId)) throw new MeroError('GroupNotFound', `no group ${groupId} on this node`)
    const invitationIdBuf = invitationId(signed)
    const opId = await issue(node, signed.groupId, { kind: 'InvitationRevoked', invitationId: invitationIdBuf, invitation: signed.inviter.equals(node.identity.publicKey) ? signed : undefined })
    return { invitationId: invitationIdBuf.toString('hex'), groupId, opId }
  },
  'group.listInvitations': async (_p, { node }) => ({
    invitations: node.invitations.list().map((i) => {
      const held = node.groups.invitationState(fromHex(i.groupId, 'group id', 32), fromHex(i.invitationId, 'invitation id', 32))
      const s = { revoked: held.revoked, claimedBy: held.claimedBy.map(toBase58) }
      const maxUses = decodeToken(i.token).invitation.maxUses ?? null
      // claims past its uses admitted nobody (the fold's claim rule)
      const uses = maxUses === null ? s.claimedBy.length : Math.min(s.claimedBy.length, maxUses)
      const remaining = maxUses === null ? null : maxUses - uses
      const state = s.revoked ? 'revoked' : i.expiresAt < Date.now() ? 'expired' : remaining === 0 ? 'used up' : 'active'
      return { invitationId: i.invitationId, groupId: i.groupId, role: i.role, expiresAt: i.expiresAt, createdAt: i.createdAt, state, claimedBy: s.claimedBy, maxUses, uses, remaining, token: i.token }
    }),
  }),
} satisfies Handlers<'group'>
