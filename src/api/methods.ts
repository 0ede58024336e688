import { isAbsolute } from 'node:path'
import { z } from 'zod'
import type { AliasEntry } from '../core/aliases/alias-store.js'
import type { BlobMeta } from '../core/blobs/blob-store.js'
import type { ApplicationMeta } from '../core/context/applications.js'
import type { ExecutionResult } from '../core/context/context-manager.js'
import type { ContextMetaJson } from '../core/context/context-meta.js'
import type { ContextInfo, GroupView, IngestResultView, MemberInfo, OpRecord } from './governance-json.js'
import { MAX_INVITATION_USES, ROLES, VISIBILITIES, type Role, type Visibility } from '../core/governance/ops.js'
import type { SyncOutcome } from '../core/sync/session-scheduler.js'
import type { BackupManifest } from './node-files.js'
import { aliasKind, aliasName, base58Id, idOrAlias } from './schemas.js'

/**
 * The daemon's JSON-RPC API as one typed contract: each method's name, what it does, the schema
 * of its parameters and the type of its result. The daemon's handler tables implement it
 * (daemon/methods/, checked against it at compile time); the client and the commands call it by
 * these names and get these result types. `meroctl` imports this module for its types only, so
 * zod is never loaded by it.
 */
interface MethodSpec {
  /** Shown by `rpc.discover`. */
  description: string
  params: z.ZodType
}

const group = idOrAlias('group')
const context = idOrAlias('context')
const identity = idOrAlias('identity')
const application = idOrAlias('application')
const role = z.enum(ROLES)
const visibility = z.enum(VISIBILITIES)
const capabilityName = z.enum(['create-context', 'invite-members', 'join-open-contexts', 'manage-members', 'manage-application'])
const METHOD_NAME = z.string().regex(/^[A-Za-z0-9_]{1,256}$/, { message: 'expected a method name: 1 to 256 of A-Z, a-z, 0-9, _' })
const MAX_MEMBERS_PER_CALL = 1000
const none = z.object({}).strict()
const token = z.string().min(1).max(10_000)

export const RPC = {
  // node.* — the daemon itself
  'node.status': { description: 'Identity, peer id, version, socket and uptime of this node; its reachability and relay reservations', params: none },
  'node.backup': {
    description: 'Back the running node up into a folder: a consistent copy of its store, its blobs, identity and config',
    params: z.object({ dir: z.string().min(1).max(4096).refine(isAbsolute, { message: 'expected an absolute path' }) }).strict(),
  },
  'node.stop': { description: 'Stop the daemon gracefully', params: none },

  // peers.* — the libp2p peers of this node
  'peers.list': { description: 'Connected peers: addresses, and how each connection is made (direct or relayed, transport)', params: none },
  'peers.connect': {
    description: 'Dial a peer by multiaddr (ending in /p2p/<peer id>)',
    params: z.object({ address: z.string().regex(/^\/(ip4|ip6|dns|dns4|dns6)\/.+\/p2p\/\w+$/, { message: 'expected a multiaddr ending in /p2p/<peer id>' }) }).strict(),
  },

  // alias.* — node-local names for contexts, applications, identities and groups
  'alias.create': { description: 'Name an id of a kind (context, application, identity, group)', params: z.object({ kind: aliasKind, alias: aliasName, id: z.string(), force: z.boolean().default(false) }).strict() },
  'alias.list': { description: 'List aliases, optionally of one kind', params: z.object({ kind: aliasKind.optional() }).strict() },
  'alias.get': { description: 'The id an alias names', params: z.object({ kind: aliasKind, alias: aliasName }).strict() },
  'alias.remove': { description: 'Remove an alias', params: z.object({ kind: aliasKind, alias: aliasName }).strict() },

  // app.* — installed applications (wasm modules)
  'app.install': {
    description: 'Install a signed bundle (.mpk) or a bare wasm module (an unsigned development application), uploaded as a blob (POST /blobs) or downloaded from a URL; verifies, validates and meters it',
    params: z
      .object({ blobId: base58Id('blob id').optional(), url: z.string().min(1, 'the url is empty').max(2048).optional(), source: z.string().max(256).optional(), alias: aliasName.optional() })
      .strict()
      .refine((p) => (p.blobId === undefined) !== (p.url === undefined), { message: 'give exactly one of blobId and url' }),
  },
  'app.list': { description: 'Installed applications: packages (name, version, signer) and unsigned development modules', params: none },
  'app.get': { description: 'An application: size, source, ABI', params: z.object({ application }).strict() },
  'app.uninstall': { description: 'Uninstall an application; refused while a context uses it', params: z.object({ application }).strict() },

  // blob.* — local content-addressed blobs (content itself moves over POST/GET /blobs)
  'blob.list': { description: 'List the blobs stored on this node', params: none },
  'blob.get': { description: "A blob's metadata: size, chunks, holders", params: z.object({ blobId: base58Id('blob id') }).strict() },
  'blob.add': { description: 'Store a file the daemon can read, by absolute path', params: z.object({ path: z.string().startsWith('/', { message: 'expected an absolute path' }) }).strict() },
  'blob.remove': { description: 'Remove a blob added by hand; refused while an application uses it', params: z.object({ blobId: base58Id('blob id') }).strict() },

  // context.* — seed 000's context lifecycle and Execute
  'context.create': {
    description: 'Create a context in a group running an application; calls its init (CreateContext)',
    params: z.object({ group, application: application.optional(), params: z.unknown().optional(), alias: aliasName.optional(), visibility: visibility.optional() }).strict(),
  },
  'context.list': { description: 'The contexts this node holds', params: z.object({ group: group.optional() }).strict() },
  'context.get': { description: 'A context: group, application, root hash, heads, visibility, allowlist, sync status', params: z.object({ context }).strict() },
  'context.delete': { description: "Delete a context's state from this node (DeleteContext)", params: z.object({ context }).strict() },
  'context.execute': { description: "Call a method of the context's application (Execute)", params: z.object({ context, method: METHOD_NAME, args: z.unknown().optional() }).strict() },
  'context.updateApplication': { description: 'Move the context to another installed application; state is kept, migrated when the application keeps a newer state version (UpdateApplication)', params: z.object({ context, application }).strict() },
  'context.setVisibility': { description: 'Open or restrict a context (SetContextVisibility)', params: z.object({ context, visibility }).strict() },
  'context.manageAllowlist': {
    description: "Add or remove identities on a context's allowlist (ManageContextAllowlist)",
    params: z.object({ context, add: z.array(identity).max(1024).default([]), remove: z.array(identity).max(1024).default([]) }).strict(),
  },
  'context.allowlist': { description: "A context's allowlist", params: z.object({ context }).strict() },
  'context.join': { description: "Join a context of a group this node's identity is a member of: key, application and state from a peer (JoinContext)", params: z.object({ context }).strict() },
  'context.sync': { description: 'Sync a context now with every peer that may hold it (SyncContext)', params: z.object({ context }).strict() },

  // group.* — governance (seed 000's group handlers)
  'group.create': { description: "Create a group owned by this node's identity (CreateGroup)", params: z.object({ alias: aliasName.optional(), application: application.optional() }).strict() },
  'group.list': { description: 'The groups this node holds', params: none },
  'group.get': { description: 'A group: owner, state hash, heads, members, settings, contexts, equivocations', params: z.object({ group }).strict() },
  'group.members': { description: "A group's members with their roles and capabilities", params: z.object({ group }).strict() },
  'group.delete': { description: 'Delete the group and its contexts (DeleteGroup; owner only)', params: z.object({ group }).strict() },
  'group.addMembers': { description: 'Add identities to the group (AddGroupMembers)', params: z.object({ group, identities: z.array(identity).min(1).max(MAX_MEMBERS_PER_CALL), role: role.default('member') }).strict() },
  'group.removeMembers': { description: 'Remove identities from the group and its contexts (RemoveGroupMembers)', params: z.object({ group, identities: z.array(identity).min(1).max(MAX_MEMBERS_PER_CALL) }).strict() },
  'group.leave': { description: 'Leave the group (the owner cannot)', params: z.object({ group }).strict() },
  'group.updateMemberRole': { description: "Change a member's role (UpdateMemberRole)", params: z.object({ group, identity, role }).strict() },
  'group.setMemberCapabilities': {
    description: "Grant or revoke a member's capabilities (SetMemberCapabilities)",
    params: z.object({ group, identity, grant: z.array(capabilityName).default([]), revoke: z.array(capabilityName).default([]) }).strict(),
  },
  'group.getCapabilities': { description: "A member's role and capabilities", params: z.object({ group, identity }).strict() },
  'group.setDefaultCapabilities': {
    description: 'Capabilities new members get (SetDefaultCapabilities)',
    params: z.object({ group, grant: z.array(capabilityName).default([]), revoke: z.array(capabilityName).default([]) }).strict(),
  },
  'group.setDefaultVisibility': { description: 'Visibility of new contexts (SetDefaultVisibility)', params: z.object({ group, visibility }).strict() },
  'group.setAlias': { description: "The group's replicated alias (SetGroupAlias)", params: z.object({ group, alias: aliasName }).strict() },
  'group.setMemberAlias': { description: "A member's replicated alias (SetMemberAlias)", params: z.object({ group, identity, alias: aliasName }).strict() },
  'group.transferOwnership': { description: 'Make an admin the owner (owner only)', params: z.object({ group, identity }).strict() },
  'group.upgrade': { description: "Set the group's target application; each context moves on its next execution (UpgradeGroup)", params: z.object({ group, application }).strict() },
  'group.detachContext': { description: 'Detach a context from the group (DetachContextFromGroup)', params: z.object({ group, context }).strict() },
  'group.join': { description: 'Join a group with an invitation token: fetch its history from the inviter, then claim (JoinGroup)', params: z.object({ token }).strict() },
  'group.sync': { description: "Catch up a group's ops from its peers now (SyncGroup)", params: z.object({ group }).strict() },
  'group.ops': { description: 'The op log: id, signer, seq, parents, kind, applied or rejected and why', params: z.object({ group, limit: z.number().int().positive().max(100_000).optional() }).strict() },
  'group.applySignedOp': { description: 'Ingest an externally signed op, hex or base64 (ApplySignedGroupOp)', params: z.object({ op: z.string().min(1).max(200_000) }).strict() },
  'group.createInvitation': {
    description: 'A signed invitation token (CreateGroupInvitation)',
    params: z.object({ group, role: role.default('member'), expiresInSecs: z.number().int().positive().max(10 * 365 * 86_400).default(7 * 86_400), context: context.optional(), maxUses: z.number().int().min(1).max(MAX_INVITATION_USES).default(1) }).strict(),
  },
  'group.inspectInvitation': { description: 'Decode a token: group, inviter, role, expiry, signature validity', params: z.object({ token }).strict() },
  'group.revokeInvitation': { description: 'Revoke an invitation by token or id', params: z.object({ invitation: token }).strict() },
  'group.listInvitations': { description: 'Invitations this node issued, with their state', params: none },

  'rpc.discover': { description: 'List the methods this daemon serves', params: none },
} satisfies Record<string, MethodSpec>

// ---- results ---------------------------------------------------------------------------------

export interface NodeStatus {
  identity: string
  peerId: string
  peers: number
  listenAddresses: string[]
  /** Reachability, relay reservations and service, transports, bans; absent without a network. */
  network?: NetworkView
  nodeName: string
  version: string
  socket: string
  home: string
  uptimeMs: number
  pid: number
  /** The store key's id when the store is encrypted at rest (store.encryption_key_file); absent otherwise. */
  storeKeyId?: string
}

/** Whether others can dial this node, and how (node.status). */
export interface NetworkView {
  /** public: a public address is verified (or announced); private: no direct address others can dial; unknown: neither is known. */
  reachability: 'public' | 'private' | 'unknown'
  addresses: string[]
  relay: { serving: boolean; clients: number; reservations: { relay: string; addresses: string[]; configured: boolean }[] }
  transports: string[]
  mdns: boolean
  banned: { peerId: string; untilMs: number; reason: string }[]
}

/** A connected peer and how each connection to it is made (peers.list). */
export interface PeerView {
  peerId: string
  addresses: string[]
  latencyMs?: number
  /** direct when any connection to the peer is; relayed when all go through a relay. */
  via: 'direct' | 'relayed'
  connections: { address: string; direction: 'inbound' | 'outbound'; via: 'direct' | 'relayed'; transport: string; relay?: string; limited?: boolean }[]
}

export type ApplicationView = ApplicationMeta & { alias: string | null }

export interface ContextSyncView {
  /** offline, alone, replicating, syncing, behind or failing. */
  state: string
  peers: number
  lastSync: SyncOutcome | null
  lastFetch: SyncOutcome | null
  pendingDeltas: number
  failures: number
}

export type ContextView = ContextMetaJson & {
  alias: string | null
  visibility: Visibility | undefined
  allowlist: string[]
  members: string[]
  pendingUpgrade: string | null
  /** Why this node's move to the group's target application failed (its migration), if it did. */
  upgradeError: string | null
  sync: ContextSyncView
}

export interface GroupSummary {
  groupId: string
  alias: string | null
  owner: string
  myRole: Role | null
  members: number
  contexts: number
  stateHash: string
  deleted: boolean
}

export type GroupDetails = GroupView & { contexts: (ContextInfo & { localAlias: string | null })[]; localAlias: string | null }

export interface IssuedOp {
  groupId: string
  opId: string
}

export interface InvitationInfo {
  invitationId: string
  groupId: string
  inviter: string
  role: Role
  expiresAt: number
  expired: boolean
  signatureValid: boolean
  /** How many identities it admits (absent: an older token without a limit). */
  maxUses?: number
  revoked?: boolean
  claimedBy?: string[]
  peerId?: string
  addresses: string[]
}

export interface IssuedInvitationView {
  invitationId: string
  groupId: string
  role: string
  expiresAt: number
  createdAt: number
  /** active, used up, expired, or revoked. */
  state: string
  claimedBy: string[]
  /** How many identities it admits (null: an older token without a limit), how many it admitted, how many more it may. */
  maxUses: number | null
  uses: number
  remaining: number | null
  token: string
}

interface SyncNow {
  peers: number
  fetched: number
  errors: string[]
}

/** What each method returns. */
export interface RpcResults {
  'node.status': NodeStatus
  'node.backup': BackupManifest
  'node.stop': { stopping: boolean; pid: number }
  'peers.list': { peers: PeerView[] }
  'peers.connect': { peerId: string; address: string }
  'alias.create': AliasEntry
  'alias.list': { aliases: AliasEntry[] }
  'alias.get': AliasEntry
  'alias.remove': { kind: AliasEntry['kind']; alias: string; removed: boolean }
  'app.install': ApplicationView
  'app.list': { applications: ApplicationView[] }
  'app.get': ApplicationView
  'app.uninstall': { applicationId: string; uninstalled: boolean }
  'blob.list': { blobs: (Omit<BlobMeta, 'chunks'> & { chunks: number })[] }
  'blob.get': Omit<BlobMeta, 'chunks'> & { chunks: number }
  'blob.add': { blobId: string; size: number; chunks: number }
  'blob.remove': { blobId: string; removed: boolean }
  'context.create': ContextView
  'context.list': { contexts: ContextView[] }
  'context.get': ContextView
  'context.delete': { contextId: string; deleted: boolean }
  'context.execute': ExecutionResult
  'context.updateApplication': ContextView
  'context.setVisibility': { contextId: string; visibility: Visibility }
  'context.manageAllowlist': { contextId: string; allowlist: string[] }
  'context.allowlist': { contextId: string; visibility: Visibility | undefined; allowlist: string[] }
  'context.join': { contextId: string; groupId: string; fetched: number; method: string }
  'context.sync': SyncNow & { contextId: string; rootHash: string; heads: string[] }
  'group.create': { groupId: string; owner: string }
  'group.list': { groups: GroupSummary[] }
  'group.get': GroupDetails
  'group.members': { groupId: string; owner: string; members: MemberInfo[] }
  'group.delete': IssuedOp
  'group.addMembers': { groupId: string; added: string[]; role: Role; opIds: string[] }
  'group.removeMembers': { groupId: string; removed: string[]; opIds: string[] }
  'group.leave': IssuedOp
  'group.updateMemberRole': IssuedOp & { identity: string; role: Role }
  'group.setMemberCapabilities': IssuedOp & { identity: string; capabilities: number; capabilityNames: string[] }
  'group.getCapabilities': { groupId: string; identity: string; role: Role; capabilities: number; capabilityNames: string[] }
  'group.setDefaultCapabilities': IssuedOp & { defaultCapabilities: number; defaultCapabilityNames: string[] }
  'group.setDefaultVisibility': IssuedOp & { visibility: Visibility }
  'group.setAlias': IssuedOp & { alias: string }
  'group.setMemberAlias': IssuedOp & { identity: string; alias: string }
  'group.transferOwnership': IssuedOp & { owner: string }
  'group.upgrade': IssuedOp & { targetApplication: string; contexts: number }
  'group.detachContext': IssuedOp & { contextId: string }
  'group.join': { groupId: string; opId: string; fetched: number; identity: string; contextId?: string; contextSync?: { fetched: number; method: string } }
  'group.sync': SyncNow & { groupId: string; stateHash: string }
  'group.ops': { groupId: string; total: number; pending: number; ops: OpRecord[] }
  'group.applySignedOp': IngestResultView
  'group.createInvitation': { token: string; invitationId: string; groupId: string; role: Role; expiresAt: number; maxUses: number; contextId?: string }
  'group.inspectInvitation': InvitationInfo
  'group.revokeInvitation': { invitationId: string; groupId: string; opId: string }
  'group.listInvitations': { invitations: IssuedInvitationView[] }
  'rpc.discover': { methods: { name: string; description: string }[] }
}

export type { AliasKind } from '../core/aliases/alias-store.js'
export type { Role, Visibility }
export type CapabilityName = z.infer<typeof capabilityName>

export type RpcMethod = keyof typeof RPC
/** What a caller passes (defaults may be left out). */
export type RpcParams<M extends RpcMethod> = z.input<(typeof RPC)[M]['params']>
/** What a handler receives (defaults filled in). */
export type RpcArgs<M extends RpcMethod> = z.output<(typeof RPC)[M]['params']>
export type RpcResult<M extends RpcMethod> = RpcResults[M]

// every method has a result type, and every result type a method
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const contractIsComplete: Same<RpcMethod, keyof RpcResults> = true
void contractIsComplete
