import { z } from 'zod'
import { createInvitation, decodeToken, encodeToken, invitationId, invitationSignatureValid } from '../../core/governance/invitation.js'
import { capabilityBits, capabilityList, decodeSignedOp, ROLES, VISIBILITIES, type GroupOp } from '../../core/governance/ops.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58, fromHex, toBase58 } from '../../core/primitives/encoding.js'
import { MeroError } from '../../core/primitives/errors.js'
import { isHex32 } from '../../core/primitives/ids.js'
import { resolveGroup, resolveId, resolveIdentity } from './resolve.js'
import { aliasName, idOrAlias } from './schemas.js'
import { method, type MethodTable } from './types.js'

/**
 * group.* — governance (seed 000's group handlers). Every change is a signed op issued by this
 * node's identity on top of the group's heads; an op the identity may not issue is refused with
 * the reason and nothing is stored.
 */
const group = idOrAlias('group')
const identity = idOrAlias('identity')
const role = z.enum(ROLES)
const capabilityName = z.enum(['create-context', 'invite-members', 'join-open-contexts', 'manage-members', 'manage-application'])
const MAX_MEMBERS_PER_CALL = 1000

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

/** The context an invitation admits to, checked the way the fold will check the claim. */
function invitationContext(node: MeroNode, groupId: string, contextB58: string, myRole: string): Buffer {
  const c = node.groups.view(groupId).contexts.find((x) => x.contextId === contextB58)
  if (!c) throw new MeroError('ContextNotFound', `context ${contextB58} is not registered in group ${groupId}`)
  if (myRole !== 'admin') {
    if (c.visibility === 'restricted' && c.creator !== node.identityBase58) throw new MeroError('NotAuthorized', "only an admin or the context's creator may invite into a restricted context")
    if (c.visibility !== 'restricted' && !c.members.includes(node.identityBase58)) throw new MeroError('NotAuthorized', 'join the context before inviting into it')
  }
  return fromBase58(contextB58, 'context id', 32)
}

export const groupMethods: MethodTable = {
  'group.create': method({
    description: "Create a group owned by this node's identity (CreateGroup)",
    params: z.object({ alias: aliasName.optional(), application: idOrAlias('application').optional() }).strict(),
    handler: async ({ alias, application }, { node }) => {
      const app = application ? fromBase58(resolveId(node, 'application', application), 'application id', 32) : undefined
      const groupId = node.createGroup({ application: app })
      if (alias) node.aliases.create('group', alias, groupId)
      return { groupId, owner: node.identityBase58 }
    },
  }),
  'group.list': method({
    description: 'The groups this node holds',
    params: z.object({}).strict(),
    handler: async (_p, { node }) => ({ groups: node.groups.groupIds().sort().map((g) => groupSummary(node, g)) }),
  }),
  'group.get': method({
    description: 'A group: owner, state hash, heads, members, settings, contexts, equivocations',
    params: z.object({ group }).strict(),
    handler: async ({ group }, { node }) => {
      const id = resolveGroup(node, group)
      const view = node.groups.view(id)
      // this node's own aliases beside the group's, as `context get` shows them
      const contexts = view.contexts.map((c) => ({ ...c, localAlias: node.aliases.aliasesOf('context', c.contextId)[0] ?? null }))
      return { ...view, contexts, localAlias: node.aliases.aliasesOf('group', id)[0] ?? null }
    },
  }),
  'group.members': method({
    description: "A group's members with their roles and capabilities",
    params: z.object({ group }).strict(),
    handler: async ({ group }, { node }) => {
      const v = node.groups.view(resolveGroup(node, group))
      return { groupId: v.groupId, owner: v.owner, members: v.members }
    },
  }),
  'group.delete': method({
    description: 'Delete the group and its contexts (DeleteGroup; owner only)',
    params: z.object({ group }).strict(),
    handler: async ({ group }, { node }) => {
      const id = resolveGroup(node, group)
      return { groupId: id, opId: await issue(node, id, { kind: 'GroupDeleted' }) }
    },
  }),
  'group.addMembers': method({
    description: 'Add identities to the group (AddGroupMembers)',
    params: z.object({ group, identities: z.array(identity).min(1).max(MAX_MEMBERS_PER_CALL), role: role.default('member') }).strict(),
    handler: async ({ group, identities, role }, { node }) => {
      const id = resolveGroup(node, group)
      const keys = identities.map((i) => resolveIdentity(node, i))
      const opIds: string[] = []
      for (const k of keys) opIds.push(await issue(node, id, { kind: 'MemberAdded', member: k, role }))
      return { groupId: id, added: keys.map((k) => toBase58(k)), role, opIds }
    },
  }),
  'group.removeMembers': method({
    description: 'Remove identities from the group and its contexts (RemoveGroupMembers)',
    params: z.object({ group, identities: z.array(identity).min(1).max(MAX_MEMBERS_PER_CALL) }).strict(),
    handler: async ({ group, identities }, { node }) => {
      const id = resolveGroup(node, group)
      const keys = identities.map((i) => resolveIdentity(node, i))
      const opIds: string[] = []
      for (const k of keys) opIds.push(await issue(node, id, { kind: 'MemberRemoved', member: k }))
      return { groupId: id, removed: keys.map((k) => toBase58(k)), opIds }
    },
  }),
  'group.leave': method({
    description: 'Leave the group (the owner cannot)',
    params: z.object({ group }).strict(),
    handler: async ({ group }, { node }) => {
      const id = resolveGroup(node, group)
      return { groupId: id, opId: await issue(node, id, { kind: 'MemberLeft' }) }
    },
  }),
  'group.updateMemberRole': method({
    description: "Change a member's role (UpdateMemberRole)",
    params: z.object({ group, identity, role }).strict(),
    handler: async ({ group, identity, role }, { node }) => {
      const id = resolveGroup(node, group)
      const key = resolveIdentity(node, identity)
      return { groupId: id, identity: toBase58(key), role, opId: await issue(node, id, { kind: 'RoleSet', member: key, role }) }
    },
  }),
  'group.setMemberCapabilities': method({
    description: "Grant or revoke a member's capabilities (SetMemberCapabilities)",
    params: z.object({ group, identity, grant: z.array(capabilityName).default([]), revoke: z.array(capabilityName).default([]) }).strict(),
    handler: async ({ group, identity, grant, revoke }, { node }) => {
      const id = resolveGroup(node, group)
      const key = resolveIdentity(node, identity)
      const member = node.groups.view(id).members.find((m) => m.identity === toBase58(key))
      if (!member) throw new MeroError('MemberNotFound', `${toBase58(key)} is not a member of ${id}`)
      const current = (node.groups.state(id).current(`caps/${key.toString('hex')}`) as number | undefined) ?? 0
      const capabilities = capsChange(current, grant, revoke)
      const opId = await issue(node, id, { kind: 'CapabilitiesSet', member: key, capabilities })
      return { groupId: id, identity: toBase58(key), capabilities, capabilityNames: capabilityList(capabilities), opId }
    },
  }),
  'group.getCapabilities': method({
    description: "A member's role and capabilities",
    params: z.object({ group, identity }).strict(),
    handler: async ({ group, identity }, { node }) => {
      const id = resolveGroup(node, group)
      const key = toBase58(resolveIdentity(node, identity))
      const m = node.groups.view(id).members.find((x) => x.identity === key)
      if (!m) throw new MeroError('MemberNotFound', `${key} is not a member of ${id}`)
      return { groupId: id, identity: key, role: m.role, capabilities: m.capabilities, capabilityNames: m.capabilityNames }
    },
  }),
  'group.setDefaultCapabilities': method({
    description: 'Capabilities new members get (SetDefaultCapabilities)',
    params: z.object({ group, grant: z.array(capabilityName).default([]), revoke: z.array(capabilityName).default([]) }).strict(),
    handler: async ({ group, grant, revoke }, { node }) => {
      const id = resolveGroup(node, group)
      const defaultCapabilities = capsChange(node.groups.view(id).settings.defaultCapabilities, grant, revoke)
      const opId = await issue(node, id, { kind: 'DefaultCapabilitiesSet', capabilities: defaultCapabilities })
      return { groupId: id, defaultCapabilities, defaultCapabilityNames: capabilityList(defaultCapabilities), opId }
    },
  }),
  'group.setDefaultVisibility': method({
    description: 'Visibility of new contexts (SetDefaultVisibility)',
    params: z.object({ group, visibility: z.enum(VISIBILITIES) }).strict(),
    handler: async ({ group, visibility }, { node }) => {
      const id = resolveGroup(node, group)
      return { groupId: id, visibility, opId: await issue(node, id, { kind: 'DefaultVisibilitySet', visibility }) }
    },
  }),
  'group.setAlias': method({
    description: "The group's replicated alias (SetGroupAlias)",
    params: z.object({ group, alias: aliasName }).strict(),
    handler: async ({ group, alias }, { node }) => {
      const id = resolveGroup(node, group)
      return { groupId: id, alias, opId: await issue(node, id, { kind: 'GroupAliasSet', alias }) }
    },
  }),
  'group.setMemberAlias': method({
    description: "A member's replicated alias (SetMemberAlias)",
    params: z.object({ group, identity, alias: aliasName }).strict(),
    handler: async ({ group, identity, alias }, { node }) => {
      const id = resolveGroup(node, group)
      const key = resolveIdentity(node, identity)
      return { groupId: id, identity: toBase58(key), alias, opId: await issue(node, id, { kind: 'MemberAliasSet', member: key, alias }) }
    },
  }),
  'group.transferOwnership': method({
    description: 'Make an admin the owner (owner only)',
    params: z.object({ group, identity }).strict(),
    handler: async ({ group, identity }, { node }) => {
      const id = resolveGroup(node, group)
      const key = resolveIdentity(node, identity)
      return { groupId: id, owner: toBase58(key), opId: await issue(node, id, { kind: 'OwnershipTransferred', newOwner: key }) }
    },
  }),
  'group.upgrade': method({
    description: "Set the group's target application; each context moves on its next execution (UpgradeGroup)",
    params: z.object({ group, application: idOrAlias('application') }).strict(),
    handler: async ({ group, application }, { node }) => {
      const id = resolveGroup(node, group)
      const app = fromBase58(resolveId(node, 'application', application), 'application id', 32)
      const opId = await issue(node, id, { kind: 'TargetApplicationSet', application: app })
      return { groupId: id, targetApplication: toBase58(app), contexts: node.groups.view(id).contexts.length, opId }
    },
  }),
  'group.detachContext': method({
    description: 'Detach a context from the group (DetachContextFromGroup)',
    params: z.object({ group, context: idOrAlias('context') }).strict(),
    handler: async ({ group, context }, { node }) => {
      const id = resolveGroup(node, group)
      const ctx = fromBase58(resolveId(node, 'context', context), 'context id', 32)
      return { groupId: id, contextId: toBase58(ctx), opId: await issue(node, id, { kind: 'ContextDetached', contextId: ctx }) }
    },
  }),
  'group.join': method({
    description: 'Join a group with an invitation token: fetch its history from the inviter, then claim (JoinGroup)',
    params: z.object({ token: z.string().min(1).max(10_000) }).strict(),
    handler: async ({ token }, { node }) => {
      requireReplicator(node)
      const r = await node.joinGroup(token)
      return { ...r, identity: node.identityBase58 }
    },
  }),
  'group.sync': method({
    description: "Catch up a group's ops from its peers now (SyncGroup)",
    params: z.object({ group }).strict(),
    handler: async ({ group }, { node }) => {
      const id = resolveGroup(node, group)
      const r = await requireReplicator(node).syncNow(id)
      return { groupId: id, ...r, stateHash: node.groups.view(id).stateHash }
    },
  }),
  'group.ops': method({
    description: 'The op log: id, signer, seq, parents, kind, applied or rejected and why',
    params: z.object({ group, limit: z.number().int().positive().max(100_000).optional() }).strict(),
    handler: async ({ group, limit }, { node }) => {
      const id = resolveGroup(node, group)
      const ops = node.groups.ops(id)
      return { groupId: id, total: ops.length, pending: node.groups.pendingCount(id), ops: limit ? ops.slice(-limit) : ops }
    },
  }),
  'group.applySignedOp': method({
    description: 'Ingest an externally signed op, hex or base64 (ApplySignedGroupOp)',
    params: z.object({ op: z.string().min(1).max(200_000) }).strict(),
    handler: async ({ op }, { node }) => {
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
  }),
  'group.createInvitation': method({
    description: 'A signed invitation token (CreateGroupInvitation)',
    params: z.object({ group, role: role.default('member'), expiresInSecs: z.number().int().positive().max(10 * 365 * 86_400).default(7 * 86_400), context: idOrAlias('context').optional() }).strict(),
    handler: async ({ group, role, expiresInSecs, context }, { node }) => {
      const id = resolveGroup(node, group)
      const v = node.groups.view(id)
      const me = v.members.find((m) => m.identity === node.identityBase58)
      if (v.deleted) throw new MeroError('GroupDeleted', `group ${id} is deleted`)
      if (!me) throw new MeroError('NotAuthorized', `this node's identity is not a member of ${id}`)
      if (role === 'admin' && me.role !== 'admin') throw new MeroError('NotAuthorized', 'only admins may invite admins')
      if (me.role !== 'admin' && !me.capabilityNames.includes('invite-members')) throw new MeroError('NotAuthorized', 'inviting requires an admin or the invite-members capability')
      const contextId = context ? invitationContext(node, id, resolveId(node, 'context', context), me.role) : undefined
      const expiresAt = Date.now() + expiresInSecs * 1000
      const inv = createInvitation(node.identity, Buffer.from(id, 'hex'), role, expiresAt, contextId)
      const invitationIdHex = invitationId(inv).toString('hex')
      const token = encodeToken(inv, { peerId: node.peerId, addresses: node.advertisedAddresses.map((a) => `${a}/p2p/${node.peerId}`) })
      node.invitations.add({ invitationId: invitationIdHex, groupId: id, role, expiresAt, createdAt: Date.now(), token })
      node.events.emit({ type: 'invitation.created', groupId: id, invitationId: invitationIdHex, role, expiresAt, ...(contextId ? { contextId: toBase58(contextId) } : {}) })
      return { token, invitationId: invitationIdHex, groupId: id, role, expiresAt, ...(context ? { contextId: toBase58(contextId!) } : {}) }
    },
  }),
  'group.inspectInvitation': method({
    description: 'Decode a token: group, inviter, role, expiry, signature validity',
    params: z.object({ token: z.string().min(1).max(10_000) }).strict(),
    handler: async ({ token }, { node }) => {
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
        ...(state ? { revoked: state.revoked, claimedBy: state.claimedBy } : {}),
        peerId: d.hints.peerId,
        addresses: d.hints.addresses,
      }
    },
  }),
  'group.revokeInvitation': method({
    description: 'Revoke an invitation by token or id',
    params: z.object({ invitation: z.string().min(1).max(10_000) }).strict(),
    handler: async ({ invitation }, { node }) => {
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
  }),
  'group.listInvitations': method({
    description: 'Invitations this node issued, with their state',
    params: z.object({}).strict(),
    handler: async (_p, { node }) => ({
      invitations: node.invitations.list().map((i) => {
        const s = node.groups.invitationState(i.groupId, i.invitationId)
        const state = s.revoked ? 'revoked' : i.expiresAt < Date.now() ? 'expired' : s.claimedBy.length ? `active, claimed by ${s.claimedBy.length}` : 'active'
        return { invitationId: i.invitationId, groupId: i.groupId, role: i.role, expiresAt: i.expiresAt, createdAt: i.createdAt, state, claimedBy: s.claimedBy, token: i.token }
      }),
    }),
  }),
}
