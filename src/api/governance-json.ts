import type { ContextRecord, EpochRecord, GroupRecord, IngestResult, MemberRecord, OpEntry } from '../core/governance/group-store.js'
import { capabilityList, type Role, type Visibility } from '../core/governance/ops.js'
import { GROUP_SCOPE } from '../core/governance/rotation.js'
import { applicationIdToString, contextIdToString, groupIdToString, opIdToString, publicKeyToString } from '../core/primitives/ids.js'

/**
 * Governance as the RPC shows it: GroupStore's records (ids as bytes) in their string forms,
 * group and op ids in hex, identities, contexts and applications in base58. Fields keep the order
 * the API has always printed them in.
 */

export interface MemberInfo {
  identity: string
  role: Role
  capabilities: number
  capabilityNames: string[]
  alias: string | null
}

export interface ContextInfo {
  contextId: string
  applicationId: string
  creator: string
  visibility: Visibility
  allowlist: string[]
  members: string[]
  alias: string | null
}

export interface EpochView {
  /** 'group' (the group's topic), or a context id. */
  scope: string
  epoch: number
  keyId: string | null
  status: 'ok' | 'stale' | 'missing'
}

export interface GroupView {
  groupId: string
  owner: string
  alias: string | null
  stateHash: string
  heads: string[]
  members: MemberInfo[]
  settings: { defaultCapabilities: number; defaultCapabilityNames: string[]; defaultVisibility: Visibility; targetApplication: string | null }
  contexts: ContextInfo[]
  equivocations: { signer: string; seq: number; opIds: string[] }[]
  opCount: number
  pendingOps: number
  deleted: boolean
  /** Each keyed scope's epoch at the current heads, and the id of its key (null while stale, or not held here). */
  keys: EpochView[]
}

export interface OpRecord {
  opId: string
  signer: string
  seq: number
  parents: string[]
  kind: string
  status: 'applied' | 'rejected'
  reason: string | null
  generation: number
  /** When this node applied the op (ms since the epoch; local, not replicated). */
  appliedAt: number
}

export interface IngestResultView {
  opId: string
  groupId?: string
  status: IngestResult['status']
  reason?: string
  missing?: string[]
}

const hex = opIdToString
const b58 = publicKeyToString

export function memberInfo(m: MemberRecord): MemberInfo {
  return { identity: b58(m.identity), role: m.role, capabilities: m.capabilities, capabilityNames: capabilityList(m.capabilities), alias: m.alias }
}

export function contextInfo(c: ContextRecord): ContextInfo {
  return {
    contextId: contextIdToString(c.contextId),
    applicationId: applicationIdToString(c.applicationId),
    creator: b58(c.creator),
    visibility: c.visibility,
    allowlist: c.allowlist.map(b58),
    members: c.members.map(b58),
    alias: c.alias,
  }
}

export function epochView(e: EpochRecord): EpochView {
  return { scope: e.scope === GROUP_SCOPE ? GROUP_SCOPE : contextIdToString(e.scope), epoch: e.epoch, keyId: e.keyId ? hex(e.keyId) : null, status: e.status }
}

export function groupView(g: GroupRecord): GroupView {
  const s = g.settings
  return {
    groupId: groupIdToString(g.groupId),
    owner: b58(g.owner),
    alias: g.alias,
    stateHash: hex(g.stateHash),
    heads: g.heads.map(hex),
    members: g.members.map(memberInfo),
    settings: {
      defaultCapabilities: s.defaultCapabilities,
      defaultCapabilityNames: capabilityList(s.defaultCapabilities),
      defaultVisibility: s.defaultVisibility,
      targetApplication: s.targetApplication ? applicationIdToString(s.targetApplication) : null,
    },
    contexts: g.contexts.map(contextInfo),
    equivocations: g.equivocations.map((e) => ({ signer: b58(e.signer), seq: e.seq, opIds: e.opIds.map(hex) })),
    opCount: g.opCount,
    pendingOps: g.pendingOps,
    deleted: g.deleted,
    keys: g.keys.map(epochView),
  }
}

export function opRecord(o: OpEntry): OpRecord {
  return { opId: hex(o.opId), signer: b58(o.signer), seq: o.seq, parents: o.parents.map(hex), kind: o.kind, status: o.status, reason: o.reason, generation: o.generation, appliedAt: o.appliedAt }
}

export function ingestResultView(r: IngestResult): IngestResultView {
  return {
    opId: hex(r.opId),
    ...(r.groupId ? { groupId: groupIdToString(r.groupId) } : {}),
    status: r.status,
    ...('reason' in r ? { reason: r.reason } : {}),
    ...(r.missing ? { missing: r.missing.map(hex) } : {}),
  }
}
