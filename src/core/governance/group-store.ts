import { randomBytes } from 'node:crypto'
import { verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool, VerifyJob } from '../crypto/verifier-pool.js'
import { PendingQueue } from '../dag/pending-queue.js'
import { Emitter } from '../primitives/emitter.js'
import { toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { byIdBytes, idKey as hex, idOfKey as unhex } from '../primitives/ids.js'
import type { Store, WriteBatch } from '../store/store.js'
import { keyHolders, mayRead, mayReadContext } from './access.js'
import type { GovernanceEvents } from './events.js'
import { GroupState, whyMayNotInvite, whyMayNotInviteInto, type ApplyOutcome, type EpochAt, type MemberSlot } from './fold.js'
import { KeyRing, type HeldKey } from './keyring.js'
import { decodeSignedOp, groupOf, signedMessage, MAX_PARENTS, signOp, type GroupOp, type Role, type SignedOp, type Visibility, capabilityList, DEFAULT_CAPABILITIES, ZERO_ID } from './ops.js'
import { GROUP_SCOPE, sealRotation, scopeKey, type Rotation } from './rotation.js'

/**
 * GroupStore (seed 000): the authoritative persistence of governance. Holds each group's op DAG
 * and fold, persists ops in RocksDB (column 'groupOps': groupId ‖ opId → signed bytes), parks
 * ops whose parents are missing in a bounded pending queue and applies them when the parents
 * arrive, authors local ops (sign, check, apply, persist), and reports what changed (`events`).
 */
export const MAX_PENDING_PER_GROUP = 10_000

/*
 * Ids in and out of GroupStore are bytes (group ids, op ids, heads, identities, context and
 * application ids). Inside, the fold keys its maps and slots by hex (`idKey`); the strings people
 * read are made at the edges (src/api/governance-json.ts).
 */

export interface IngestResult {
  /** Empty when the op did not decode. */
  opId: Buffer
  groupId?: Buffer
  status: 'applied' | 'rejected' | 'duplicate' | 'pending' | 'invalid'
  reason?: string
  missing?: Buffer[]
}

export interface MemberRecord {
  identity: Buffer
  role: Role
  capabilities: number
  alias: string | null
}

export interface ContextRecord {
  contextId: Buffer
  applicationId: Buffer
  creator: Buffer
  visibility: Visibility
  allowlist: Buffer[]
  /** The members joined to it that may read it. */
  members: Buffer[]
  alias: string | null
}

export interface GroupRecord {
  groupId: Buffer
  owner: Buffer
  alias: string | null
  stateHash: Buffer
  heads: Buffer[]
  members: MemberRecord[]
  settings: { defaultCapabilities: number; defaultVisibility: Visibility; targetApplication: Buffer | null }
  contexts: ContextRecord[]
  equivocations: { signer: Buffer; seq: number; opIds: Buffer[] }[]
  opCount: number
  pendingOps: number
  deleted: boolean
  /** Each keyed scope's epoch at the current heads, and the id of its key (null while stale, or not held here). */
  keys: EpochRecord[]
}

export interface EpochRecord {
  /** The group's topic (GROUP_SCOPE), or a context by id. */
  scope: typeof GROUP_SCOPE | Buffer
  epoch: number
  keyId: Buffer | null
  status: 'ok' | 'stale' | 'missing'
}

export interface OpEntry {
  opId: Buffer
  signer: Buffer
  seq: number
  parents: Buffer[]
  kind: string
  status: 'applied' | 'rejected'
  reason: string | null
  generation: number
  /** When this node applied the op (ms since the epoch; local, not replicated). */
  appliedAt: number
}

/** Scopes in order: the group's topic first, then contexts by id. */
const byScope = (a: string, b: string) => (a === GROUP_SCOPE ? -1 : b === GROUP_SCOPE ? 1 : a < b ? -1 : 1)
const UNKNOWN: KeyAt = { status: 'unknown' }
/** The op id of an IngestResult whose op did not decode. */
const NO_ID = Buffer.alloc(0)

export interface IssueOptions {
  /** Scopes to rotate besides those the op takes away (KeyRotated). */
  rotate?: string[]
}
const META_GROUP = 0x01

interface WriteBehind {
  batch: WriteBatch
  written: Promise<void>
  settle: (error?: Error) => void
}

/** A scope's key at a position: the key, or why there is none to use. */
export type KeyAt =
  | ({ status: 'ok'; epoch: number } & HeldKey)
  /** The epoch's key needs a rotation first (see EpochAt.stale). */
  | { status: 'stale'; epoch: number }
  /** This node lacks the keys of these rotations (it fetches them from a peer). */
  | { status: 'missing'; epoch: number; rotations: Buffer[] }
  /** The position names ops this node does not hold, or a group it does not hold. */
  | { status: 'unknown' }

/** Key epochs remembered per group (a position's key never changes once its ops are held). */
const KEYS_REMEMBERED = 1024

export class GroupStore {
  private readonly groups = new Map<string, GroupState>()
  /** Per group: scope|position → its key or its staleness (never 'missing' or 'unknown', which change). */
  private readonly keyMemo = new Map<string, Map<string, KeyAt>>()
  /** Per group: ops waiting for parents (or, before its genesis, for the group itself). */
  private readonly pending = new Map<string, PendingQueue<SignedOp>>()
  /** Ops evicted from a full pending queue since start (sync fetches them again). */
  pendingEvicted = 0
  private behind?: WriteBehind
  /** Ops applied, rejected or parked, and what they changed (groups, members). */
  readonly events = new Emitter<GovernanceEvents>()

  /**
   * Without a store, a replica lives in memory only (in-process replicas, tests). Without a
   * keyring it holds no keys: it neither opens envelopes nor adds rotations to the ops it issues
   * (a replica that only folds).
   */
  constructor(
    private readonly store?: Store,
    readonly keys?: KeyRing,
  ) {}

  /** Rebuilds every group from its persisted op log (signatures were checked on the way in). */
  start(): void {
    this.keys?.start()
    if (!this.store) return
    for (const [key] of this.store.scanPrefix('groupMeta', Buffer.from([META_GROUP]))) {
      const groupId = key.subarray(1)
      const ops = this.store.scanPrefix('groupOps', groupId).map(([, v]) => decodeSignedOp(v, { verify: false }))
      this.ingestDecoded(causalOrder(ops), { persist: false, emit: false })
    }
  }

  // ---- queries -------------------------------------------------------------------------

  groupIds(): Buffer[] {
    return [...this.groups.values()].map((g) => g.groupId)
  }

  has(groupId: Uint8Array): boolean {
    return this.groups.has(hex(groupId))
  }

  state(groupId: Uint8Array): GroupState {
    return this.stateAt(hex(groupId))
  }

  private stateAt(key: string): GroupState {
    const g = this.groups.get(key)
    if (!g) throw new MeroError('GroupNotFound', `no group ${key} on this node; \`meroctl group list\` shows the groups`)
    return g
  }

  /** The group's heads, in the order of their bytes. */
  heads(groupId: Uint8Array): Buffer[] {
    const g = this.state(groupId)
    return [...g.heads].sort().map((h) => g.nodes.get(h)!.op.id)
  }

  /** Parent ids that pending ops of this group wait for. */
  missing(groupId: Uint8Array): Buffer[] {
    return [...(this.pending.get(hex(groupId))?.waitedFor() ?? [])].map(unhex)
  }

  pendingCount(groupId: Uint8Array): number {
    return this.pending.get(hex(groupId))?.size ?? 0
  }

  /** Ops waiting for their parents, all groups together. */
  get pendingTotal(): number {
    let n = 0
    for (const q of this.pending.values()) n += q.size
    return n
  }

  /** How many ops of the group this node holds (applied or rejected); 0 for a group it lacks. */
  opCount(groupId: Uint8Array): number {
    return this.groups.get(hex(groupId))?.nodes.size ?? 0
  }

  /** Is the group deleted (false for a group this node lacks)? */
  deleted(groupId: Uint8Array): boolean {
    return this.groups.get(hex(groupId))?.current('deleted') === true
  }

  /** Signed op bytes by id (for sync), those this node holds. */
  getOps(groupId: Uint8Array, opIds: Uint8Array[]): Buffer[] {
    const g = this.groups.get(hex(groupId))
    if (!g) return []
    return opIds.flatMap((id) => {
      const n = g.nodes.get(hex(id))
      return n ? [n.op.bytes] : []
    })
  }

  /** Does this node hold op `opId` of the group (applied or rejected)? */
  knows(groupId: Uint8Array, opId: Uint8Array): boolean {
    return this.groups.get(hex(groupId))?.has(hex(opId)) ?? false
  }

  /**
   * Every op of the group that is not an ancestor of `have` (a peer's heads), in causal order:
   * what that peer lacks. Heads this node does not know are ignored.
   */
  missingFor(groupId: Uint8Array, have: Uint8Array[]): Buffer[] {
    const g = this.state(groupId)
    const known = have.map(hex).filter((h) => g.has(h))
    const cut = known.length ? g.cut(known) : undefined
    return [...g.nodes.values()]
      .filter((n) => !cut || !cut.includes(n.idHex))
      .sort((a, b) => a.gen - b.gen || (a.idHex < b.idHex ? -1 : 1))
      .map((n) => n.op.bytes)
  }

  role(groupId: Uint8Array, identity: Uint8Array): Role | undefined {
    return this.groups.get(hex(groupId))?.now().role(hex(identity))
  }

  isMember(groupId: Uint8Array, identity: Uint8Array): boolean {
    return this.role(groupId, identity) !== undefined
  }

  /** A member of the group now (its role, capabilities and alias), or undefined. */
  member(groupId: Uint8Array, identity: Uint8Array): MemberRecord | undefined {
    const g = this.groups.get(hex(groupId))
    const id = hex(identity)
    const role = g?.now().role(id)
    if (!g || !role) return undefined
    return { identity: Buffer.from(identity), role, capabilities: g.now().caps(id), alias: (g.current(`malias/${id}`) as string | undefined) ?? null }
  }

  /**
   * What execution in a context needs from governance, read straight from the current slots
   * (no view is built): the group deleted? the context registered? the identity's role, whether
   * it joined the context, and the group's target application.
   */
  contextAccess(groupId: Uint8Array, contextId: Uint8Array, identity: Uint8Array): { deleted: boolean; registered: boolean; role?: Role; joined: boolean; reads: boolean; target?: Buffer } {
    const now = this.state(groupId).now()
    const c = hex(contextId)
    const who = hex(identity)
    const target = now.get('target') as string | undefined
    return {
      deleted: now.get('deleted') === true,
      registered: now.context(c)?.registered === true,
      role: now.role(who),
      joined: now.get(`joined/${c}/${who}`) === true,
      reads: mayReadContext(now, who, c),
      target: target === undefined ? undefined : unhex(target),
    }
  }

  /**
   * May `identity` write context `contextId` at a governance position (a set of op ids of the
   * group)? Decided on the fold of the position's ancestors only, so every node decides the
   * same. 'unknown' while this node lacks an op of the position.
   */
  writerAt(groupId: Uint8Array, contextId: Uint8Array, identity: Uint8Array, position: Uint8Array[]): { ok: true } | { ok: false; reason: string } | 'unknown' {
    const g = this.groups.get(hex(groupId))
    const pos = position.map(hex)
    if (!g || pos.some((p) => !g.has(p))) return 'unknown'
    if (pos.length === 0) return { ok: false, reason: 'the delta names no governance position' }
    const cut = g.cut(pos)
    const c = hex(contextId)
    const who = hex(identity)
    if (cut.get('deleted') === true) return { ok: false, reason: 'the group is deleted at the delta\'s position' }
    if (!cut.context(c)?.registered) return { ok: false, reason: 'the context is not registered at the delta\'s position' }
    const role = cut.role(who)
    if (!role) return { ok: false, reason: 'the author is not a member of the group at the delta\'s position' }
    if (role === 'read-only') return { ok: false, reason: 'the author is a read-only member at the delta\'s position' }
    if (cut.get(`joined/${c}/${who}`) !== true) return { ok: false, reason: 'the author has not joined the context at the delta\'s position' }
    if (!mayReadContext(cut, who, c)) return { ok: false, reason: "the context is restricted and the author is not on its allowlist at the delta's position" }
    return { ok: true }
  }

  /**
   * May this identity read a context now (receive its key, deltas, snapshots)? A member joined to
   * it, or one that may join it: open contexts need admin or join-open-contexts, restricted ones
   * the allowlist (or admin). Undefined when it may; otherwise why not.
   */
  whyNotReader(groupId: Uint8Array, contextId: Uint8Array, identity: Uint8Array): string | undefined {
    const g = this.groups.get(hex(groupId))
    if (!g) return 'this node does not hold the group'
    const now = g.now()
    const c = hex(contextId)
    const who = hex(identity)
    if (now.get('deleted') === true) return 'the group is deleted'
    if (!now.context(c)?.registered) return 'the context is not registered in its group'
    if (!now.role(who)) return 'not a member of the group'
    if (mayReadContext(now, who, c)) return undefined
    if (now.get(`ctxvis/${c}`) === 'restricted') return 'the context is restricted and the identity is not on its allowlist'
    return 'joining an open context requires the join-open-contexts capability'
  }

  /**
   * Refuses an invitation `inviter` would sign now that the fold would reject when it is claimed:
   * the group deleted (GroupDeleted), the inviter no member or not allowed to invite as `role`
   * (NotAuthorized), the context it names not registered (ContextNotFound) or not one the inviter
   * may let someone into (NotAuthorized). The same rules as the claim's, on the current state.
   */
  checkInvitation(groupId: Uint8Array, inviter: Uint8Array, role: Role, contextId?: Uint8Array): void {
    const g = this.state(groupId)
    const gid = hex(groupId)
    if (g.current('deleted') === true) throw new MeroError('GroupDeleted', `group ${gid} is deleted`)
    const now = g.cut([...g.heads])
    const who = hex(inviter)
    const inviterRole = now.role(who)
    if (!inviterRole) throw new MeroError('NotAuthorized', `${toBase58(inviter)} is not a member of group ${gid}`)
    const why = whyMayNotInvite(now, who, inviterRole, role)
    if (why) throw new MeroError('NotAuthorized', `cannot invite: ${why}`)
    if (!contextId) return
    const c = hex(contextId)
    if (!now.context(c)?.registered) throw new MeroError('ContextNotFound', `context ${toBase58(contextId)} is not registered in group ${gid}`)
    const whyNot = whyMayNotInviteInto(now, c, who, inviterRole)
    if (whyNot) throw new MeroError('NotAuthorized', `cannot invite into context ${toBase58(contextId)}: ${whyNot}`)
  }

  /**
   * Whether an invitation was revoked, and who claimed it, in the current state, first claim first
   * (of an invitation with `maxUses`, the first that many are its uses; see the fold's claim rule).
   */
  invitationState(groupId: Uint8Array, invitationId: Uint8Array): { revoked: boolean; claimedBy: Buffer[] } {
    const g = this.groups.get(hex(groupId))
    if (!g) return { revoked: false, claimedBy: [] }
    const now = g.now()
    const id = hex(invitationId)
    return { revoked: now.get(`revoked/${id}`) === true, claimedBy: now.claimants(id).map(unhex) }
  }

  /** The contexts registered in the group, with the members joined to each that may read it. */
  contexts(groupId: Uint8Array): ContextRecord[] {
    const g = this.state(groupId)
    const now = g.now()
    const contexts: ContextRecord[] = []
    for (const [slot, value] of g.entries('ctx/')) {
      const c = value as { app: string; creator: string; registered: boolean }
      if (!c.registered) continue
      const id = slot.slice('ctx/'.length)
      const allowlist = g.entries(`allow/${id}/`).filter(([, v]) => v === true).map(([k]) => unhex(k.slice(`allow/${id}/`.length)))
      // a context identity is live only while its holder may read it (the removal cascade, the allowlist)
      const members = g
        .entries(`joined/${id}/`)
        .map(([k, v]) => [k.slice(`joined/${id}/`.length), v] as const)
        .filter(([who, v]) => v === true && now.role(who) !== undefined && mayReadContext(now, who, id))
        .map(([who]) => unhex(who))
      contexts.push({
        contextId: unhex(id),
        applicationId: unhex(c.app),
        creator: unhex(c.creator),
        visibility: g.current(`ctxvis/${id}`) as Visibility,
        allowlist,
        members,
        alias: (g.current(`calias/${id}`) as string | undefined) ?? null,
      })
    }
    return contexts
  }

  /** The group's registered context `contextId`, or undefined. */
  context(groupId: Uint8Array, contextId: Uint8Array): ContextRecord | undefined {
    const key = hex(contextId)
    return this.contexts(groupId).find((c) => hex(c.contextId) === key)
  }

  /** The application the group's contexts are to move to (group upgrade), or undefined. */
  targetApplication(groupId: Uint8Array): Buffer | undefined {
    const target = this.state(groupId).current('target') as string | undefined
    return target === undefined ? undefined : unhex(target)
  }

  view(groupId: Uint8Array): GroupRecord {
    const g = this.state(groupId)
    const now = g.now()
    const members: MemberRecord[] = []
    for (const [slot] of g.entries('member/')) {
      const id = slot.slice('member/'.length)
      const role = now.role(id)
      if (!role) continue
      members.push({ identity: unhex(id), role, capabilities: now.caps(id), alias: (g.current(`malias/${id}`) as string | undefined) ?? null })
    }
    const defcaps = (g.current('defcaps') as number | undefined) ?? DEFAULT_CAPABILITIES
    return {
      groupId: g.groupId,
      owner: unhex(g.current('owner') as string),
      alias: (g.current('alias') as string | undefined) ?? null,
      stateHash: g.stateHash(),
      heads: this.heads(groupId),
      members,
      settings: { defaultCapabilities: defcaps, defaultVisibility: (g.current('defvis') as Visibility | undefined) ?? 'open', targetApplication: this.targetApplication(groupId) ?? null },
      contexts: this.contexts(groupId),
      equivocations: g.equivocations.map((e) => ({ signer: unhex(e.signer), seq: Number(e.seq), opIds: e.opIds.map(unhex) })),
      opCount: g.nodes.size,
      pendingOps: this.pendingCount(groupId),
      deleted: g.current('deleted') === true,
      keys: this.epochs(groupId),
    }
  }

  /** The op log in causal order (generation, then id). */
  ops(groupId: Uint8Array): OpEntry[] {
    const g = this.state(groupId)
    return [...g.nodes.values()]
      .sort((a, b) => a.gen - b.gen || (a.idHex < b.idHex ? -1 : 1))
      .map((n) => ({ opId: n.op.id, signer: n.op.signer, seq: Number(n.op.seq), parents: n.op.parents, kind: n.op.op.kind, status: n.status, reason: n.reason ?? null, generation: n.gen, appliedAt: n.appliedAt }))
  }

  // ---- authoring -----------------------------------------------------------------------

  /** Creates a group owned by `owner`; its id is the id of the signed genesis op. */
  createGroup(owner: KeyPair, settings: { application?: Buffer; defaultCapabilities?: number; defaultVisibility?: Visibility } = {}): { groupId: Buffer; op: SignedOp } {
    // epoch 0 of the group's topic key, for the owner (members joining later fetch the current key)
    const rotation = this.keys ? sealRotation({ groupId: ZERO_ID, signer: owner.publicKey, seq: 1n }, [{ key: randomBytes(32) }], () => [owner.publicKey]) : undefined
    const op = signOp(
      {
        groupId: Buffer.alloc(32),
        parents: [],
        seq: 1n,
        op: { kind: 'GroupCreated', application: settings.application, defaultCapabilities: settings.defaultCapabilities ?? DEFAULT_CAPABILITIES, defaultVisibility: settings.defaultVisibility ?? 'open', salt: randomBytes(32) },
        rotation,
      },
      owner,
    )
    this.ingestDecoded([op], { persist: true, emit: true })
    return { groupId: op.id, op }
  }

  /**
   * Signs `op` as `signer` on top of the group's current heads, checks it would be valid, then
   * applies and persists it. An op that would be rejected is refused (NotAuthorized) and not
   * stored. Returns the signed op (to publish).
   */
  issue(groupId: Uint8Array, signer: KeyPair, op: GroupOp, opts: IssueOptions = {}): SignedOp {
    const signed = this.signChecked(groupId, signer, op, opts)
    this.ingestDecoded([signed], { persist: true, emit: true })
    return signed
  }

  /**
   * `issue`, with the op's write left to the end of the event-loop turn, one batch for every op
   * issued in that turn: the caller publishes meanwhile, so peers receive the op while it is
   * written instead of after. `persisted` settles when the write has. The window costs little:
   * a crash inside it loses the op here but not at the peers it reached, which return it by
   * catch-up; should this node author again with the same seq before that, both ops are kept
   * and the group flags the equivocation (DESIGN §6), so replicas never split.
   */
  issueWriteBehind(groupId: Uint8Array, signer: KeyPair, op: GroupOp, opts: IssueOptions = {}): { op: SignedOp; persisted: Promise<void> } {
    const signed = this.signChecked(groupId, signer, op, opts)
    const behind = this.writeBehind()
    this.ingestOne(signed, behind?.batch, true)
    return { op: signed, persisted: behind?.written ?? Promise.resolve() }
  }

  /** Writes what is still to be written (ops issued with `issueWriteBehind`). */
  stop(): void {
    this.flush()
  }

  /** Writes ops issued with `issueWriteBehind` now (before other writes, and at shutdown). */
  flush(): void {
    const behind = this.behind
    if (!behind) return
    this.behind = undefined
    try {
      behind.batch.write()
      behind.settle()
    } catch (e) {
      behind.settle(e as Error)
    }
  }

  private writeBehind(): WriteBehind | undefined {
    if (!this.store) return undefined
    if (!this.behind) {
      let settle!: WriteBehind['settle']
      const written = new Promise<void>((resolve, reject) => (settle = (e) => (e ? reject(e) : resolve())))
      this.behind = { batch: this.store.batch(), written, settle }
      setImmediate(() => this.flush())
    }
    return this.behind
  }

  private signChecked(groupId: Uint8Array, signer: KeyPair, op: GroupOp, opts: IssueOptions): SignedOp {
    const g = this.state(groupId)
    const parents = [...g.heads]
      .map((h) => g.nodes.get(h)!)
      .sort((a, b) => b.gen - a.gen || (a.idHex < b.idHex ? 1 : -1))
      .slice(0, MAX_PARENTS)
      .map((n) => n.op.id)
    const seq = g.nextSeq(signer.publicKey)
    const rotation = this.rotationFor(g, signer, op, parents.map(hex), seq, opts)
    const signed = signOp({ groupId: g.groupId, parents, seq, op, rotation }, signer)
    // what peers will decode: an op they would drop as malformed is refused here, not applied alone
    decodeSignedOp(signed.bytes, { verify: false })
    const reason = g.evaluate(signed)
    if (reason) throw new MeroError(reason === 'the group is deleted' ? 'GroupDeleted' : 'NotAuthorized', `${op.kind} refused: ${reason}`)
    return signed
  }

  /**
   * The rotation an op of this node carries (DESIGN §6): a new key for every scope the op takes
   * reading of away (and the signer still reads), for a context it registers, and for the scopes
   * asked for (KeyRotated); each sealed to the identities that hold the scope's key after the op,
   * and to the signer. Scopes the signer itself stops reading stay stale for another member to
   * rotate. Without a keyring, no rotation.
   */
  private rotationFor(g: GroupState, signer: KeyPair, op: GroupOp, parents: string[], seq: bigint, opts: IssueOptions): Rotation | undefined {
    if (!this.keys) return undefined
    const plan = g.plan(op, signer.publicKey, parents)
    if ('reason' in plan) throw new MeroError(plan.reason === 'the group is deleted' ? 'GroupDeleted' : 'NotAuthorized', `${op.kind} refused: ${plan.reason}`)
    const me = hex(signer.publicKey)
    const wanted = [...plan.lost.keys(), ...(op.kind === 'ContextRegistered' ? [hex(op.contextId)] : []), ...(opts.rotate ?? [])]
    const scopes = [...new Set(wanted)].filter((s) => mayRead(plan.after, me, s)).sort(byScope)
    if (op.kind === 'KeyRotated' && !scopes.length) throw new MeroError('InvalidInput', 'KeyRotated refused: nothing to rotate that this identity may read')
    if (!scopes.length) return undefined
    const recipients = scopes.map((scope) => [...new Set([...keyHolders(plan.after, scope), me])].map((r) => Buffer.from(r, 'hex')))
    return sealRotation(
      { groupId: g.groupId, signer: signer.publicKey, seq },
      scopes.map((scope) => ({ ...(scope === GROUP_SCOPE ? {} : { contextId: Buffer.from(scope, 'hex') }), key: randomBytes(32) })),
      (i) => recipients[i]!,
    )
  }

  // ---- keys ------------------------------------------------------------------------------

  /** The key epoch of a scope at a position (the current heads by default): see GroupState.epochAt. */
  epochAt(groupId: Uint8Array, scope: string, position?: Uint8Array[]): EpochAt | undefined {
    const g = this.groups.get(hex(groupId))
    if (!g) return undefined
    const pos = position?.map(hex) ?? [...g.heads]
    if (pos.length === 0 || pos.some((p) => !g.has(p))) return undefined
    return g.epochAt(scope, pos)
  }

  /**
   * The key of a scope (GROUP_SCOPE, or a context: `scopeKey`) at a governance position (op ids;
   * the current heads by default): what a message of that position is sealed under. Remembered
   * per position once known (it never changes then).
   */
  keyAt(groupId: Uint8Array, scope: string, position?: Uint8Array[]): KeyAt {
    const gid = hex(groupId)
    const g = this.groups.get(gid)
    if (!g) return UNKNOWN
    const pos = position?.map(hex) ?? [...g.heads]
    const memoKey = `${scope}|${pos.length === 1 ? pos[0] : [...pos].sort().join(',')}`
    let memo = this.keyMemo.get(gid)
    const hit = memo?.get(memoKey)
    if (hit) return hit
    if (pos.length === 0 || pos.some((p) => !g.has(p))) return UNKNOWN
    const e = g.epochAt(scope, pos)
    let out: KeyAt
    if (e.stale) out = { status: 'stale', epoch: e.epoch }
    else {
      const d = this.keys?.derive(gid, scope, e.frontier) ?? { missing: e.frontier.map((f) => f.idHex) }
      if ('missing' in d) return { status: 'missing', epoch: e.epoch, rotations: d.missing.map(unhex) }
      out = { status: 'ok', epoch: e.epoch, ...d }
    }
    if (!memo) this.keyMemo.set(gid, (memo = new Map()))
    if (memo.size >= KEYS_REMEMBERED) memo.delete(memo.keys().next().value!)
    memo.set(memoKey, out)
    return out
  }

  /** Each keyed scope's epoch at the current heads: the group's topic first, then contexts by id. */
  epochs(groupId: Uint8Array): EpochRecord[] {
    const scopes = this.state(groupId).keyedScopes().sort(byScope)
    return scopes.flatMap((scope) => {
      const k = this.keyAt(groupId, scope)
      if (k.status === 'unknown') return []
      return [{ scope: scope === GROUP_SCOPE ? GROUP_SCOPE : unhex(scope), epoch: k.epoch, keyId: k.status === 'ok' ? k.keyId : null, status: k.status }]
    })
  }

  /**
   * The keys of a scope's current epoch this node holds (its frontier's rotations), for a peer
   * that may read the scope (the sync server decides that).
   */
  keysToShare(groupId: Uint8Array, scope: string): { rotation: Buffer; key: Buffer }[] {
    const e = this.epochAt(groupId, scope)
    if (!e || !this.keys) return []
    const gid = hex(groupId)
    return e.frontier.flatMap((r) => {
      const key = this.keys!.component(gid, scope, r.idHex)
      return key ? [{ rotation: Buffer.from(r.idHex, 'hex'), key }] : []
    })
  }

  /**
   * Keys of a scope given by a peer: each kept if this node holds the rotation op and the key is
   * the one it names; refused and counted otherwise. Returns how many were kept.
   */
  acceptKeys(groupId: Uint8Array, scope: string, keys: { rotation: Buffer; key: Buffer }[]): number {
    const gid = hex(groupId)
    const g = this.groups.get(gid)
    if (!g || !this.keys) return 0
    const batch = this.store?.batch()
    let kept = 0
    for (const { rotation, key } of keys) {
      const node = g.nodes.get(hex(rotation))
      const named = node?.status === 'applied' ? node.op.rotation?.scopes.find((s) => scopeKey(s) === scope) : undefined
      if (!named) {
        this.keys.faults.bad_component++
        continue
      }
      if (this.keys.accept(gid, scope, hex(rotation), named.keyId, key, batch)) kept++
    }
    batch?.write()
    if (kept && this.events.listens('keys.stored')) this.events.emit('keys.stored', { groupId: g.groupId, scope })
    return kept
  }

  // ---- ingest ----------------------------------------------------------------------------

  /** Ingests signed ops from the wire, `group ops apply` or sync; one write batch for all. */
  ingest(payloads: Uint8Array[]): IngestResult[] {
    const results: IngestResult[] = new Array(payloads.length)
    const decoded: SignedOp[] = []
    const index: number[] = []
    payloads.forEach((bytes, i) => {
      try {
        decoded.push(decodeSignedOp(bytes))
        index.push(i)
      } catch (e) {
        results[i] = { opId: NO_ID, status: 'invalid', reason: (e as Error).message }
      }
    })
    const out = this.ingestDecoded(decoded, { persist: true, emit: true })
    out.forEach((r, j) => (results[index[j]!] = r))
    return results
  }

  /** Ingests ops already decoded and verified (by decodeSignedOp) by the caller. */
  ingestVerifiedOps(ops: SignedOp[]): IngestResult[] {
    return this.ingestDecoded(ops, { persist: true, emit: true })
  }

  /**
   * The same as `ingest`, with signatures checked on a worker pool first (catch-up of many ops):
   * an op whose signature fails is reported invalid and not applied.
   */
  async ingestVerified(payloads: Uint8Array[], pool: VerifierPool): Promise<IngestResult[]> {
    return this.ingestChecked(await checkSignatures(payloads, pool))
  }

  /** Ingests a page whose signatures `checkSignatures` checked (in the order the pages came). */
  ingestChecked(page: CheckedPage): IngestResult[] {
    const results = [...page.results]
    this.ingestDecoded(page.good, { persist: true, emit: true }).forEach((r, j) => (results[page.goodIndex[j]!] = r))
    return results
  }

  private ingestDecoded(ops: SignedOp[], opts: { persist: boolean; emit: boolean }): IngestResult[] {
    // the store keeps ops in the order they were applied: ops still to be written go first
    this.flush()
    const batch = opts.persist ? this.store?.batch() : undefined
    const results = ops.map((op) => this.ingestOne(op, batch, opts.emit))
    batch?.write()
    return results
  }

  private ingestOne(op: SignedOp, batch: WriteBatch | undefined, emit: boolean): IngestResult {
    const groupId = hex(groupOf(op))
    const opId = hex(op.id)
    const g = this.groups.get(groupId)
    if (g?.has(opId) || this.pending.get(groupId)?.has(opId)) return { opId: op.id, groupId: groupOf(op), status: 'duplicate' }
    if (op.op.kind !== 'GroupCreated' && !g && op.groupId.equals(ZERO_ID)) return { opId: op.id, status: 'invalid', reason: 'op has a zero group id' }

    const missing = op.parents.filter((p) => !g?.has(hex(p)))
    if (op.op.kind !== 'GroupCreated' && (!g || missing.length)) {
      const waitFor = missing.map(hex)
      this.pendingEvicted += this.queue(groupId).park(opId, op, g ? waitFor : waitFor.length ? waitFor : [groupId])
      if (emit && this.events.listens('op.pending')) this.events.emit('op.pending', { groupId: groupOf(op), opId: op.id, missing: missing.length })
      return { opId: op.id, groupId: groupOf(op), status: 'pending', missing }
    }
    const first = this.applyAndRecord(groupId, op, batch, emit)
    // cascade: ops that waited for this one (iteratively)
    const queue = [opId, ...(op.op.kind === 'GroupCreated' ? [groupId] : [])]
    const pending = this.pending.get(groupId)
    while (pending && queue.length) {
      for (const p of pending.arrived(queue.shift()!)) {
        this.applyAndRecord(groupId, p.item, batch, emit)
        queue.push(p.id)
      }
    }
    return first
  }

  private applyAndRecord(groupId: string, op: SignedOp, batch: WriteBatch | undefined, emit: boolean): IngestResult {
    let g = this.groups.get(groupId)
    if (!g) {
      g = new GroupState(groupOf(op))
      this.groups.set(groupId, g)
      batch?.put('groupMeta', Buffer.concat([Buffer.from([META_GROUP]), g.groupId]), Buffer.from('{}'))
    }
    const outcome = g.apply(op)
    batch?.put('groupOps', Buffer.concat([g.groupId, op.id]), op.bytes)
    // keys sealed to this node (on a restart they are in the keys column already)
    if (emit && op.rotation && outcome.node.status === 'applied' && this.keys) {
      const { stored, fault } = this.keys.absorb(op, batch)
      if (fault && this.events.listens('key.rejected')) this.events.emit('key.rejected', { groupId: g.groupId, opId: op.id, fault })
      if (stored && this.events.listens('keys.stored')) this.events.emit('keys.stored', { groupId: g.groupId })
    }
    if (emit) this.emit(g, groupId, op, outcome)
    return { opId: op.id, groupId: g.groupId, status: outcome.node.status, reason: outcome.node.reason }
  }

  private queue(groupId: string): PendingQueue<SignedOp> {
    let q = this.pending.get(groupId)
    if (!q) this.pending.set(groupId, (q = new PendingQueue(MAX_PENDING_PER_GROUP)))
    return q
  }

  /** Reports an applied or rejected op and what it changed, to whoever listens. */
  private emit(g: GroupState, groupIdHex: string, op: SignedOp, outcome: ApplyOutcome): void {
    const ev = this.events
    const groupId = g.groupId
    if (outcome.node.status === 'rejected') {
      if (ev.listens('op.rejected')) ev.emit('op.rejected', { groupId, op, reason: outcome.node.reason! })
      return
    }
    if (op.op.kind === 'GroupCreated' && ev.listens('group.created')) ev.emit('group.created', { groupId, owner: op.signer })
    if (ev.listens('op.applied')) ev.emit('op.applied', { groupId, op })
    for (const c of outcome.changes) {
      if (c.slot.startsWith('member/')) {
        const after = c.after as MemberSlot
        const before = c.before as MemberSlot | undefined
        if ('role' in after) {
          if (before && 'role' in before) {
            if (ev.listens('member.updated')) ev.emit('member.updated', { groupId, identity: idOf(c.slot, 'member/'), role: after.role, capabilities: this.capsOf(groupIdHex, c.slot) })
          } else if (ev.listens('member.added')) ev.emit('member.added', { groupId, identity: idOf(c.slot, 'member/'), role: after.role })
        } else if (before && 'role' in before && ev.listens('member.removed')) {
          ev.emit('member.removed', { groupId, identity: idOf(c.slot, 'member/'), reason: after.gone })
        }
      } else if (c.slot.startsWith('caps/')) {
        const id = c.slot.slice('caps/'.length)
        const role = this.groups.get(groupIdHex)?.now().role(id)
        if (role && op.op.kind === 'CapabilitiesSet' && ev.listens('member.updated')) ev.emit('member.updated', { groupId, identity: Buffer.from(id, 'hex'), role, capabilities: c.after as number })
      } else if (c.slot === 'deleted' && c.after === true) {
        if (ev.listens('group.deleted')) ev.emit('group.deleted', { groupId })
      }
    }
    if (outcome.equivocation && ev.listens('equivocation')) ev.emit('equivocation', { groupId, signer: Buffer.from(outcome.equivocation.signer, 'hex'), seq: outcome.equivocation.seq })
  }

  private capsOf(groupId: string, memberSlot: string): number {
    return this.groups.get(groupId)?.now().caps(memberSlot.slice('member/'.length)) ?? 0
  }
}

/** The identity (bytes) a slot such as `member/<hex>` names. */
function idOf(slot: string, prefix: string): Buffer {
  return Buffer.from(slot.slice(prefix.length), 'hex')
}

/** Parents before children (Kahn's algorithm); ops whose parents are absent come last. */
export function causalOrder(ops: SignedOp[]): SignedOp[] {
  const byId = new Map(ops.map((o) => [hex(o.id), o]))
  const children = new Map<string, string[]>()
  const waiting = new Map<string, number>()
  const ready: SignedOp[] = []
  for (const [id, op] of byId) {
    let n = 0
    for (const p of op.parents) {
      const ph = hex(p)
      if (!byId.has(ph)) continue
      n++
      const list = children.get(ph)
      if (list) list.push(id)
      else children.set(ph, [id])
    }
    if (n === 0) ready.push(op)
    else waiting.set(id, n)
  }
  const out: SignedOp[] = []
  while (ready.length) {
    const op = ready.pop()!
    out.push(op)
    for (const c of children.get(hex(op.id)) ?? []) {
      const left = waiting.get(c)! - 1
      if (left === 0) {
        waiting.delete(c)
        ready.push(byId.get(c)!)
      } else waiting.set(c, left)
    }
  }
  for (const id of waiting.keys()) out.push(byId.get(id)!)
  return out
}

/** A page of ops decoded and signature-checked, not applied yet (see checkSignatures). */
export interface CheckedPage {
  /** The verdicts known so far: those that did not decode or verify; the rest come from ingestChecked. */
  results: IngestResult[]
  good: SignedOp[]
  /** Where each op of `good` sits in the page. */
  goodIndex: number[]
}

/**
 * Decodes a page of signed ops and checks their signatures, on the pool's workers when given (a
 * long catch-up): the caller applies the page with `ingestChecked` while the next page is checked.
 */
export async function checkSignatures(payloads: Uint8Array[], pool?: VerifierPool): Promise<CheckedPage> {
  const results: IngestResult[] = new Array(payloads.length)
  const decoded: SignedOp[] = []
  const index: number[] = []
  payloads.forEach((bytes, i) => {
    try {
      decoded.push(decodeSignedOp(bytes, { verify: false }))
      index.push(i)
    } catch (e) {
      results[i] = { opId: NO_ID, status: 'invalid', reason: (e as Error).message }
    }
  })
  const jobs: VerifyJob[] = decoded.map((op) => ({ publicKey: op.signer, message: signedMessage(op), signature: op.signature }))
  const inline = (j: VerifyJob) => edVerify(j.publicKey, j.message, j.signature)
  const valid = pool ? await pool.verify(jobs, inline) : jobs.map(inline)
  const good: SignedOp[] = []
  const goodIndex: number[] = []
  decoded.forEach((op, j) => {
    if (valid[j]) {
      good.push(op)
      goodIndex.push(index[j]!)
    } else {
      results[index[j]!] = { opId: op.id, status: 'invalid', reason: 'op signature does not verify against its signer' }
    }
  })
  return { results, good, goodIndex }
}
