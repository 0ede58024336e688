import { sign as edSign, verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { readRotation, writeRotation, type Rotation } from './rotation.js'

/**
 * Governance ops (DESIGN §6, seed 000's handler map) and their signed envelope:
 *   {version, groupId, parents[], signer, seq, op, rotation?} signed with Ed25519 over
 *   "mero.group.v1" ‖ borsh(envelope); op id = SHA-256 of those signed bytes.
 * Wire form: borsh(envelope) ‖ signature (64 bytes). The genesis op (GroupCreated) has no
 * parents and a zero group id; the group id is the genesis op's id.
 *
 * Version 2 adds the key rotation an op may carry (rotation.ts) and invitations with a number of
 * uses. Version 1 ops (written before, without either) are still read, from a node's own store:
 * their invitations admit any number of identities, as they did.
 */
export const ENVELOPE_VERSION = 2
export const LEGACY_ENVELOPE_VERSION = 1
export const DOMAIN = Buffer.from('mero.group.v1')
export const MAX_PARENTS = 256
/**
 * The largest signed op: room for a rotation with about 1,000 envelopes of one key, or 100
 * members each given the keys of 60 contexts. It still fits one gossip message once sealed.
 */
export const MAX_OP_BYTES = 240 * 1024
export const ZERO_ID = Buffer.alloc(32)

export const ROLES = ['admin', 'member', 'read-only'] as const
export type Role = (typeof ROLES)[number]
export const VISIBILITIES = ['open', 'restricted'] as const
export type Visibility = (typeof VISIBILITIES)[number]

/** Capability bits; admins pass every check. */
export const Capability = {
  CreateContext: 1,
  InviteMembers: 2,
  JoinOpenContexts: 4,
  ManageMembers: 8,
  ManageApplication: 16,
} as const
export const ALL_CAPABILITIES = 31
export const CAPABILITY_NAMES = ['create-context', 'invite-members', 'join-open-contexts', 'manage-members', 'manage-application'] as const
export const DEFAULT_CAPABILITIES = Capability.JoinOpenContexts

export function capabilityBits(names: readonly string[]): number {
  let bits = 0
  for (const n of names) {
    const i = (CAPABILITY_NAMES as readonly string[]).indexOf(n)
    if (i < 0) throw new MeroError('InvalidInput', `unknown capability '${n}'; known: ${CAPABILITY_NAMES.join(', ')}`)
    bits |= 1 << i
  }
  return bits
}

export function capabilityList(bits: number): string[] {
  return CAPABILITY_NAMES.filter((_, i) => bits & (1 << i))
}

type Key = Buffer

/** A signed invitation as carried inside InvitationClaimed (see invitation.ts). */
export interface SignedInvitation {
  groupId: Key
  inviter: Key
  role: Role
  expiresAt: bigint
  salt: Key
  /** A context of the group the joiner is admitted to as well (JoinGroupContext). */
  context?: Key
  /**
   * How many identities it admits (`invitation create --max-uses`, default 1). Undefined only for
   * invitations of version 1 ops, which admitted any number.
   */
  maxUses?: number
  signature: Buffer
}

/** The most identities one invitation may admit. */
export const MAX_INVITATION_USES = 1_000_000

export type GroupOp =
  | { kind: 'GroupCreated'; application?: Key; defaultCapabilities: number; defaultVisibility: Visibility; salt: Key }
  | { kind: 'MemberAdded'; member: Key; role: Role }
  | { kind: 'MemberRemoved'; member: Key }
  | { kind: 'MemberLeft' }
  | { kind: 'RoleSet'; member: Key; role: Role }
  | { kind: 'CapabilitiesSet'; member: Key; capabilities: number }
  | { kind: 'DefaultCapabilitiesSet'; capabilities: number }
  | { kind: 'DefaultVisibilitySet'; visibility: Visibility }
  | { kind: 'ContextRegistered'; contextId: Key; application: Key; visibility?: Visibility }
  | { kind: 'ContextDetached'; contextId: Key }
  | { kind: 'ContextVisibilitySet'; contextId: Key; visibility: Visibility }
  | { kind: 'ContextAllowlistSet'; contextId: Key; add: Key[]; remove: Key[] }
  | { kind: 'GroupAliasSet'; alias: string }
  | { kind: 'MemberAliasSet'; member: Key; alias: string }
  | { kind: 'ContextAliasSet'; contextId: Key; alias: string }
  | { kind: 'TargetApplicationSet'; application: Key }
  | { kind: 'InvitationClaimed'; invitation: SignedInvitation; joinedAt: bigint }
  | { kind: 'InvitationRevoked'; invitationId: Key; invitation?: SignedInvitation }
  | { kind: 'OwnershipTransferred'; newOwner: Key }
  | { kind: 'GroupDeleted' }
  | { kind: 'ContextJoined'; contextId: Key }
  | { kind: 'ContextLeft'; contextId: Key }
  /** Starts new key epochs (its rotation) and nothing else: after a member left, or for old groups. */
  | { kind: 'KeyRotated' }

export type OpKind = GroupOp['kind']

/** Borsh tags: the position in this list. Append only. */
export const OP_KINDS: readonly OpKind[] = [
  'GroupCreated',
  'MemberAdded',
  'MemberRemoved',
  'MemberLeft',
  'RoleSet',
  'CapabilitiesSet',
  'DefaultCapabilitiesSet',
  'DefaultVisibilitySet',
  'ContextRegistered',
  'ContextDetached',
  'ContextVisibilitySet',
  'ContextAllowlistSet',
  'GroupAliasSet',
  'MemberAliasSet',
  'ContextAliasSet',
  'TargetApplicationSet',
  'InvitationClaimed',
  'InvitationRevoked',
  'OwnershipTransferred',
  'GroupDeleted',
  'ContextJoined',
  'ContextLeft',
  'KeyRotated',
]

export interface Envelope {
  version: number
  groupId: Key
  parents: Key[]
  signer: Key
  seq: bigint
  op: GroupOp
  /** New key epochs this op starts (version 2). */
  rotation?: Rotation
}

export interface SignedOp extends Envelope {
  signature: Buffer
  /** SHA-256 of DOMAIN ‖ borsh(envelope). */
  id: Buffer
  /** The wire form: borsh(envelope) ‖ signature. */
  bytes: Buffer
}

const MAX_ALLOWLIST_CHANGE = 1024
const MAX_ALIAS = 50

/** An invitation's signed fields; `maxUses` is written when it is set (every invitation but those of version 1 ops). */
export function writeInvitationBody(w: Writer, inv: Omit<SignedInvitation, 'signature'>): void {
  w.fixed(inv.groupId, 32).fixed(inv.inviter, 32).u8(ROLES.indexOf(inv.role)).u64(inv.expiresAt).fixed(inv.salt, 32)
  w.option(inv.context, (c) => w.fixed(c, 32))
  if (inv.maxUses !== undefined) w.u32(inv.maxUses)
}

function writeInvitation(w: Writer, inv: SignedInvitation): void {
  writeInvitationBody(w, inv)
  w.fixed(inv.signature, 64)
}

/** Reads a signed invitation; `legacy`: as version 1 ops carry it (no number of uses). */
export function readInvitation(r: Reader, legacy = false): SignedInvitation {
  const groupId = r.fixed(32)
  const inviter = r.fixed(32)
  const role = readRole(r)
  const expiresAt = r.u64()
  const salt = r.fixed(32)
  const context = r.option(() => r.fixed(32))
  const maxUses = legacy ? undefined : r.u32()
  if (maxUses !== undefined && (maxUses < 1 || maxUses > MAX_INVITATION_USES)) throw new MeroError('InvalidInput', `an invitation admits 1 to ${MAX_INVITATION_USES} identities, not ${maxUses}`)
  const signature = r.fixed(64)
  return { groupId, inviter, role, expiresAt, salt, ...(context ? { context } : {}), ...(maxUses !== undefined ? { maxUses } : {}), signature }
}

function readRole(r: Reader): Role {
  const t = r.u8()
  const role = ROLES[t]
  if (!role) throw new MeroError('InvalidInput', `unknown role tag ${t}`)
  return role
}

function readVisibility(r: Reader): Visibility {
  const t = r.u8()
  const v = VISIBILITIES[t]
  if (!v) throw new MeroError('InvalidInput', `unknown visibility tag ${t}`)
  return v
}

function readAlias(r: Reader): string {
  const s = r.string(MAX_ALIAS * 4)
  if (!/^[A-Za-z0-9._-]{1,50}$/.test(s)) throw new MeroError('InvalidInput', `invalid alias '${s.slice(0, 60)}'`)
  return s
}

function writeOp(w: Writer, op: GroupOp): void {
  w.u8(OP_KINDS.indexOf(op.kind))
  switch (op.kind) {
    case 'GroupCreated':
      w.option(op.application, (a) => w.fixed(a, 32)).u32(op.defaultCapabilities).u8(VISIBILITIES.indexOf(op.defaultVisibility)).fixed(op.salt, 32)
      return
    case 'MemberAdded':
    case 'RoleSet':
      w.fixed(op.member, 32).u8(ROLES.indexOf(op.role))
      return
    case 'MemberRemoved':
      w.fixed(op.member, 32)
      return
    case 'MemberLeft':
    case 'GroupDeleted':
    case 'KeyRotated':
      return
    case 'CapabilitiesSet':
      w.fixed(op.member, 32).u32(op.capabilities)
      return
    case 'DefaultCapabilitiesSet':
      w.u32(op.capabilities)
      return
    case 'DefaultVisibilitySet':
      w.u8(VISIBILITIES.indexOf(op.visibility))
      return
    case 'ContextRegistered':
      w.fixed(op.contextId, 32).fixed(op.application, 32).option(op.visibility, (v) => w.u8(VISIBILITIES.indexOf(v)))
      return
    case 'ContextDetached':
    case 'ContextJoined':
    case 'ContextLeft':
      w.fixed(op.contextId, 32)
      return
    case 'ContextVisibilitySet':
      w.fixed(op.contextId, 32).u8(VISIBILITIES.indexOf(op.visibility))
      return
    case 'ContextAllowlistSet':
      w.fixed(op.contextId, 32)
        .vec(op.add, (k) => w.fixed(k, 32))
        .vec(op.remove, (k) => w.fixed(k, 32))
      return
    case 'GroupAliasSet':
      w.string(op.alias)
      return
    case 'MemberAliasSet':
      w.fixed(op.member, 32).string(op.alias)
      return
    case 'ContextAliasSet':
      w.fixed(op.contextId, 32).string(op.alias)
      return
    case 'TargetApplicationSet':
      w.fixed(op.application, 32)
      return
    case 'InvitationClaimed':
      writeInvitation(w, op.invitation)
      w.u64(op.joinedAt)
      return
    case 'InvitationRevoked':
      w.fixed(op.invitationId, 32).option(op.invitation, (i) => writeInvitation(w, i))
      return
    case 'OwnershipTransferred':
      w.fixed(op.newOwner, 32)
      return
  }
}

function readOp(r: Reader, version: number): GroupOp {
  const tag = r.u8()
  const kind = OP_KINDS[tag]
  if (!kind || (version === LEGACY_ENVELOPE_VERSION && kind === 'KeyRotated')) throw new MeroError('InvalidInput', `unknown op tag ${tag}`)
  const legacy = version === LEGACY_ENVELOPE_VERSION
  switch (kind) {
    case 'GroupCreated':
      return { kind, application: r.option(() => r.fixed(32)), defaultCapabilities: r.u32(), defaultVisibility: readVisibility(r), salt: r.fixed(32) }
    case 'MemberAdded':
    case 'RoleSet':
      return { kind, member: r.fixed(32), role: readRole(r) }
    case 'MemberRemoved':
      return { kind, member: r.fixed(32) }
    case 'MemberLeft':
    case 'GroupDeleted':
    case 'KeyRotated':
      return { kind }
    case 'CapabilitiesSet':
      return { kind, member: r.fixed(32), capabilities: r.u32() }
    case 'DefaultCapabilitiesSet':
      return { kind, capabilities: r.u32() }
    case 'DefaultVisibilitySet':
      return { kind, visibility: readVisibility(r) }
    case 'ContextRegistered':
      return { kind, contextId: r.fixed(32), application: r.fixed(32), visibility: r.option(() => readVisibility(r)) }
    case 'ContextDetached':
    case 'ContextJoined':
    case 'ContextLeft':
      return { kind, contextId: r.fixed(32) }
    case 'ContextVisibilitySet':
      return { kind, contextId: r.fixed(32), visibility: readVisibility(r) }
    case 'ContextAllowlistSet':
      return { kind, contextId: r.fixed(32), add: r.vec(() => r.fixed(32), MAX_ALLOWLIST_CHANGE, 'identities'), remove: r.vec(() => r.fixed(32), MAX_ALLOWLIST_CHANGE, 'identities') }
    case 'GroupAliasSet':
      return { kind, alias: readAlias(r) }
    case 'MemberAliasSet':
      return { kind, member: r.fixed(32), alias: readAlias(r) }
    case 'ContextAliasSet':
      return { kind, contextId: r.fixed(32), alias: readAlias(r) }
    case 'TargetApplicationSet':
      return { kind, application: r.fixed(32) }
    case 'InvitationClaimed':
      return { kind, invitation: readInvitation(r, legacy), joinedAt: r.u64() }
    case 'InvitationRevoked':
      return { kind, invitationId: r.fixed(32), invitation: r.option(() => readInvitation(r, legacy)) }
    case 'OwnershipTransferred':
      return { kind, newOwner: r.fixed(32) }
  }
}

export function encodeEnvelope(e: Envelope): Buffer {
  const w = new Writer()
  w.u8(e.version).fixed(e.groupId, 32)
  w.vec(e.parents, (p) => w.fixed(p, 32))
  w.fixed(e.signer, 32).u64(e.seq)
  writeOp(w, e.op)
  if (e.version !== LEGACY_ENVELOPE_VERSION) w.option(e.rotation, (rot) => writeRotation(w, rot))
  return w.finish()
}

export function opIdOf(envelopeBytes: Buffer): Buffer {
  return sha256(DOMAIN, envelopeBytes)
}

/** Signs an envelope with the signer's key. */
export function signOp(e: Omit<Envelope, 'signer' | 'version'>, key: KeyPair): SignedOp {
  const envelope: Envelope = { ...e, version: ENVELOPE_VERSION, signer: key.publicKey }
  if (!envelope.rotation) delete envelope.rotation
  checkShape(envelope)
  const body = encodeEnvelope(envelope)
  const signature = edSign(key.privateKey, Buffer.concat([DOMAIN, body]))
  const bytes = Buffer.concat([body, signature])
  // read back from its bytes, to be held as every op is (decodeSignedOp), not as views of the
  // caller's buffers; an envelope that does not decode (a forger's) is returned as it is given
  try {
    return decodeSignedOp(bytes, { verify: false })
  } catch {
    return { ...envelope, signature, id: opIdOf(body), bytes }
  }
}

/**
 * Decodes wire bytes and checks everything that does not depend on group state: size, version,
 * encoding (no truncation, no trailing bytes), parents (≤ 256, distinct, none for genesis only),
 * and the signature. Throws a MeroError naming the problem.
 */
export function decodeSignedOp(bytes: Uint8Array, opts: { verify?: boolean } = {}): SignedOp {
  if (bytes.length > MAX_OP_BYTES) throw new MeroError('InvalidOp', `op is ${bytes.length} bytes, more than the ${MAX_OP_BYTES} allowed`)
  if (bytes.length < 64 + 1 + 32 + 4 + 32 + 8 + 1) throw new MeroError('InvalidOp', 'op is truncated')
  // One allocation per op, of exactly its size (its wire bytes, then its id), and every field a
  // view of it: a group's ops are held for its life, and a held field must neither keep the
  // frame the op came in alive nor a slab of Buffer's pool (small Buffers share 8 KiB slabs,
  // and a few held ids kept whole slabs: 8 KB an op in a group of 10,000 members).
  const own = Buffer.allocUnsafeSlow(bytes.length + 32)
  own.set(bytes)
  const buf = own.subarray(0, bytes.length)
  const body = buf.subarray(0, buf.length - 64)
  const signature = buf.subarray(buf.length - 64)
  const r = new Reader(body, 'op')
  let envelope: Envelope
  try {
    const version = r.u8()
    if (version !== ENVELOPE_VERSION && version !== LEGACY_ENVELOPE_VERSION) throw new MeroError('InvalidOp', `unsupported op version ${version}`)
    const groupId = r.fixed(32)
    const parents = r.vec(() => r.fixed(32), MAX_PARENTS, 'parents')
    const signer = r.fixed(32)
    const seq = r.u64()
    const op = readOp(r, version)
    const rotation = version === LEGACY_ENVELOPE_VERSION ? undefined : r.option(() => readRotation(r))
    r.end()
    envelope = { version, groupId, parents, signer, seq, op, ...(rotation ? { rotation } : {}) }
  } catch (e) {
    if (e instanceof MeroError) throw new MeroError('InvalidOp', e.message.replace(/^op /, 'op: '))
    throw e
  }
  checkShape(envelope)
  // ops read back from our own store were verified before they were stored
  if (opts.verify !== false && !edVerify(envelope.signer, Buffer.concat([DOMAIN, body]), signature)) {
    throw new MeroError('InvalidSignature', 'op signature does not verify against its signer')
  }
  const id = own.subarray(bytes.length)
  id.set(opIdOf(body))
  return { ...envelope, signature, id, bytes: buf }
}

function checkShape(e: Envelope): void {
  const genesis = e.op.kind === 'GroupCreated'
  if (genesis && e.parents.length) throw new MeroError('InvalidOp', 'a GroupCreated op has no parents')
  if (genesis && !e.groupId.equals(ZERO_ID)) throw new MeroError('InvalidOp', 'a GroupCreated op carries a zero group id (the group id is its own op id)')
  if (!genesis && e.parents.length === 0) throw new MeroError('InvalidOp', `a ${e.op.kind} op must cite at least one parent`)
  if (e.parents.length > MAX_PARENTS) throw new MeroError('InvalidOp', `an op cites at most ${MAX_PARENTS} parents, this one ${e.parents.length}`)
  const seen = new Set<string>()
  for (const p of e.parents) {
    const k = p.toString('hex')
    if (seen.has(k)) throw new MeroError('InvalidOp', 'an op cites the same parent twice')
    seen.add(k)
  }
  if (e.seq < 1n) throw new MeroError('InvalidOp', 'op seq starts at 1')
  if (e.op.kind === 'KeyRotated' && !e.rotation) throw new MeroError('InvalidOp', 'a KeyRotated op carries a rotation')
  // an invitation's signed form depends on its version: a version 2 op carries only version 2 invitations
  const inv = e.op.kind === 'InvitationClaimed' || e.op.kind === 'InvitationRevoked' ? e.op.invitation : undefined
  if (inv && (inv.maxUses === undefined) !== (e.version === LEGACY_ENVELOPE_VERSION)) throw new MeroError('InvalidOp', `a version ${e.version} op carries an invitation of another version`)
}

/** The bytes an op's signature covers (for batch verification). */
export function signedMessage(op: SignedOp): Buffer {
  return Buffer.concat([DOMAIN, op.bytes.subarray(0, op.bytes.length - 64)])
}

/** The group an op belongs to: its group id, or its own id for the genesis. */
export function groupOf(op: SignedOp): Buffer {
  return op.op.kind === 'GroupCreated' ? op.id : op.groupId
}
