import { keyValue, shortId, table } from '../render.js'

/** Shapes of the group RPC results (the contract between daemon/methods/group.ts and the CLI). */
export interface MemberView {
  identity: string
  role: 'admin' | 'member' | 'read-only'
  capabilities: number
  capabilityNames?: string[]
  alias?: string | null
}

export interface GroupView {
  groupId: string
  owner: string
  alias?: string | null
  localAlias?: string | null
  stateHash: string
  heads: string[]
  members: MemberView[]
  settings: { defaultCapabilities: number; defaultCapabilityNames?: string[]; defaultVisibility: 'open' | 'restricted'; targetApplication?: string | null }
  contexts?: { contextId: string; applicationId?: string; visibility?: string; alias?: string | null; localAlias?: string | null }[]
  equivocations: { signer: string; seq: number; opIds: string[] }[]
  opCount?: number
  pendingOps?: number
  deleted?: boolean
  keys?: { scope: string; epoch: number; keyId: string | null; status: string }[]
}

export interface OpView {
  opId: string
  signer: string
  seq: number
  parents: string[]
  kind: string
  status: 'applied' | 'rejected' | 'pending'
  reason?: string | null
}

/** Capability names in bit order (1, 2, 4, 8, 16): the CLI's flags map onto these. */
export const CAPABILITIES = ['create-context', 'invite-members', 'join-open-contexts', 'manage-members', 'manage-application'] as const

export function capabilityNames(bits: number): string[] {
  return CAPABILITIES.filter((_, i) => bits & (1 << i))
}

export function renderGroup(g: GroupView, id: (id: string) => string = shortId, opts: { wide?: boolean } = {}): string {
  const parts = [
    keyValue([
      ['group', g.groupId],
      ['alias', g.alias ?? g.localAlias ?? undefined],
      ['owner', g.owner],
      ['state hash', g.stateHash],
      ['heads', g.heads.map(id)],
      ['default caps', (g.settings.defaultCapabilityNames ?? capabilityNames(g.settings.defaultCapabilities)).join(', ') || 'none'],
      ['visibility', g.settings.defaultVisibility],
      ['target app', g.settings.targetApplication ?? undefined],
      ['ops', g.opCount !== undefined ? `${g.opCount}${g.pendingOps ? ` (+${g.pendingOps} pending)` : ''}` : undefined],
      ['key epochs', g.keys?.length ? g.keys.map((k) => `${k.scope === 'group' ? 'group' : shortId(k.scope)}: ${k.epoch}${k.keyId ? ` (key ${shortId(k.keyId)})` : ` (${k.status === 'stale' ? 'awaiting rotation' : 'key not held here'})`}`) : undefined],
      ...(g.deleted ? ([['state', 'DELETED']] as [string, string][]) : []),
      ...(g.equivocations.length ? ([['equivocations', g.equivocations.map((e) => `${shortId(e.signer)} seq ${e.seq}: ${e.opIds.length} ops`)]] as [string, string[]][]) : []),
    ]),
    '',
    renderMembers(g.members, g.owner, id, opts),
  ]
  if (g.contexts?.length) parts.push('', table(['context', 'application', 'visibility', 'alias'], g.contexts.map((c) => [id(c.contextId), c.applicationId ? id(c.applicationId) : undefined, c.visibility, c.alias ?? c.localAlias]), opts))
  return parts.join('\n')
}

export function renderMembers(members: MemberView[], owner?: string, id: (id: string) => string = shortId, opts: { wide?: boolean } = {}): string {
  return table(
    ['identity', 'role', 'capabilities', 'alias'],
    members.map((m) => [id(m.identity), m.identity === owner ? `${m.role} (owner)` : m.role, m.role === 'admin' ? 'all' : (m.capabilityNames ?? capabilityNames(m.capabilities)).join(', ') || 'none', m.alias]),
    { empty: 'no members', ...opts },
  )
}

export function renderOps(ops: OpView[], id: (id: string) => string = shortId, opts: { wide?: boolean } = {}): string {
  return table(
    ['op', 'kind', 'signer', 'seq', 'parents', 'status'],
    ops.map((o) => [id(o.opId), o.kind, id(o.signer), o.seq, opts.wide || o.parents.length === 1 ? o.parents.map(id).join(' ') : o.parents.length ? `${o.parents.length} parents` : '-', o.status === 'rejected' ? `rejected: ${o.reason}` : o.status]),
    { empty: 'no ops', ...opts },
  )
}
