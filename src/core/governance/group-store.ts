import { randomBytes } from 'node:crypto'
import { verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool, VerifyJob } from '../crypto/verifier-pool.js'
import { PendingQueue } from '../dag/pending-queue.js'
import { Emitter } from '../primitives/emitter.js'
import { toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import type { Store, WriteBatch } from '../store/store.js'
import type { GovernanceEvents } from './events.js'
import { GroupState, whyMayNotInvite, whyMayNotInviteInto, type ApplyOutcome, type MemberSlot } from './fold.js'
import { decodeSignedOp, groupOf, signedMessage, MAX_PARENTS, signOp, type GroupOp, type Role, type SignedOp, type Visibility, capabilityList, DEFAULT_CAPABILITIES, Capability } from './ops.js'

/**
 * GroupStore (seed 000): the authoritative persistence of governance. Holds each group's op DAG
 * and fold, persists ops in RocksDB (column 'groupOps': groupId ‖ opId → signed bytes), parks
 * ops whose parents are missing in a bounded pending queue and applies them when the parents
 * arrive, authors local ops (sign, check, apply, persist), and reports what changed (`events`).
 */
export const MAX_PENDING_PER_GROUP = 10_000

export interface IngestResult {
  opId: string
  groupId?: string
  status: 'applied' | 'rejected' | 'duplicate' | 'pending' | 'invalid'
  reason?: string
  missing?: string[]
}

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

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const b58 = (h: string) => toBase58(Buffer.from(h, 'hex'))
const META_GROUP = 0x01

interface WriteBehind {
  batch: WriteBatch
  written: Promise<void>
  settle: (error?: Error) => void
}

export class GroupStore {
  private readonly groups = new Map<string, GroupState>()
  /** Per group: ops waiting for parents (or, before its genesis, for the group itself). */
  private readonly pending = new Map<string, PendingQueue<SignedOp>>()
  /** Ops evicted from a full pending queue since start (sync fetches them again). */
  pendingEvicted = 0
  private behind?: WriteBehind
  /** Ops applied, rejected or parked, and what they changed (groups, members). */
  readonly events = new Emitter<GovernanceEvents>()

  /** Without a store, a replica lives in memory only (in-process replicas, tests). */
  constructor(private readonly store?: Store) {}

  /** Rebuilds every group from its persisted op log (signatures were checked on the way in). */
  start(): void {
    if (!this.store) return
    for (const [key] of this.store.scanPrefix('groupMeta', Buffer.from([META_GROUP]))) {
      const groupId = key.subarray(1)
      const ops = this.store.scanPrefix('groupOps', groupId).map(([, v]) => decodeSignedOp(v, { verify: false }))
      this.ingestDecoded(causalOrder(ops), { persist: false, emit: false })
    }
  }

  // ---- queries -------------------------------------------------------------------------

  groupIds(): string[] {
    return [...this.groups.keys()]
  }

  has(groupId: string): boolean {
    return this.groups.has(groupId)
  }

  state(groupId: string): GroupState {
    const g = this.groups.get(groupId)
    if (!g) throw new MeroError('GroupNotFound', `no group ${groupId} on this node; \`meroctl group list\` shows the groups`)
    return g
  }

  heads(groupId: string): string[] {
    return [...this.state(groupId).heads].sort()
  }

  /** Parent ids that pending ops of this group wait for. */
  missing(groupId: string): string[] {
    return [...(this.pending.get(groupId)?.waitedFor() ?? [])]
  }

  pendingCount(groupId: string): number {
    return this.pending.get(groupId)?.size ?? 0
  }

  /** Ops waiting for their parents, all groups together. */
  get pendingTotal(): number {
    let n = 0
    for (const q of this.pending.values()) n += q.size
    return n
  }

  /** Signed op bytes by id (for sync), those this node holds. */
  getOps(groupId: string, opIds: string[]): Buffer[] {
    const g = this.groups.get(groupId)
    if (!g) return []
    return opIds.flatMap((id) => {
      const n = g.nodes.get(id)
      return n ? [n.op.bytes] : []
    })
  }

  /** Does this node hold op `opId` of the group (applied or rejected)? */
  knows(groupId: string, opId: string): boolean {
    return this.groups.get(groupId)?.has(opId) ?? false
  }

  /**
   * Every op of the group that is not an ancestor of `have` (a peer's heads), in causal order:
   * what that peer lacks. Heads this node does not know are ignored.
   */
  missingFor(groupId: string, have: string[]): Buffer[] {
    const g = this.state(groupId)
    const known = have.filter((h) => g.has(h))
    const cut = known.length ? g.cut(known) : undefined
    return [...g.nodes.values()]
      .filter((n) => !cut || !cut.includes(n.idHex))
      .sort((a, b) => a.gen - b.gen || (a.idHex < b.idHex ? -1 : 1))
      .map((n) => n.op.bytes)
  }

  role(groupId: string, identity: Buffer): Role | undefined {
    const m = this.groups.get(groupId)?.current(`member/${hex(identity)}`) as MemberSlot | undefined
    return m && 'role' in m ? m.role : undefined
  }

  isMember(groupId: string, identity: Buffer): boolean {
    return this.role(groupId, identity) !== undefined
  }

  /**
   * What execution in a context needs from governance, read straight from the current slots
   * (no view is built): the group deleted? the context registered? the identity's role, whether
   * it joined the context, and the group's target application (hex).
   */
  contextAccess(groupId: string, contextIdHex: string, identityHex: string): { deleted: boolean; registered: boolean; role?: Role; joined: boolean; target?: string } {
    const g = this.state(groupId)
    const ctx = g.current(`ctx/${contextIdHex}`) as { registered: boolean } | undefined
    const m = g.current(`member/${identityHex}`) as MemberSlot | undefined
    return {
      deleted: g.current('deleted') === true,
      registered: ctx?.registered === true,
      role: m && 'role' in m ? m.role : undefined,
      joined: g.current(`joined/${contextIdHex}/${identityHex}`) === true,
      target: g.current('target') as string | undefined,
    }
  }

  /**
   * May `identityHex` write context `contextIdHex` at a governance position (a set of op ids of
   * the group)? Decided on the fold of the position's ancestors only, so every node decides the
   * same. 'unknown' while this node lacks an op of the position.
   */
  writerAt(groupId: string, contextIdHex: string, identityHex: string, position: string[]): { ok: true } | { ok: false; reason: string } | 'unknown' {
    const g = this.groups.get(groupId)
    if (!g || position.some((p) => !g.has(p))) return 'unknown'
    if (position.length === 0) return { ok: false, reason: 'the delta names no governance position' }
    const cut = g.cut(position)
    if (cut.get('deleted') === true) return { ok: false, reason: 'the group is deleted at the delta\'s position' }
    if (!cut.context(contextIdHex)?.registered) return { ok: false, reason: 'the context is not registered at the delta\'s position' }
    const role = cut.role(identityHex)
    if (!role) return { ok: false, reason: 'the author is not a member of the group at the delta\'s position' }
    if (role === 'read-only') return { ok: false, reason: 'the author is a read-only member at the delta\'s position' }
    if (cut.get(`joined/${contextIdHex}/${identityHex}`) !== true) return { ok: false, reason: 'the author has not joined the context at the delta\'s position' }
    return { ok: true }
  }

  /**
   * May this identity read a context now (receive its key, deltas, snapshots)? A member joined to
   * it, or one that may join it: open contexts need admin or join-open-contexts, restricted ones
   * the allowlist (or admin). Undefined when it may; otherwise why not.
   */
  whyNotReader(groupId: string, contextIdHex: string, identityHex: string): string | undefined {
    const g = this.groups.get(groupId)
    if (!g) return 'this node does not hold the group'
    if (g.current('deleted') === true) return 'the group is deleted'
    const ctx = g.current(`ctx/${contextIdHex}`) as { registered: boolean } | undefined
    if (!ctx?.registered) return 'the context is not registered in its group'
    const m = g.current(`member/${identityHex}`) as MemberSlot | undefined
    const role = m && 'role' in m ? m.role : g.current('owner') === identityHex ? 'admin' : undefined
    if (!role) return 'not a member of the group'
    if (g.current(`joined/${contextIdHex}/${identityHex}`) === true || role === 'admin') return undefined
    if (g.current(`ctxvis/${contextIdHex}`) === 'restricted') return g.current(`allow/${contextIdHex}/${identityHex}`) === true ? undefined : 'the context is restricted and the identity is not on its allowlist'
    return ((this.capsOf(groupId, `member/${identityHex}`) & Capability.JoinOpenContexts) !== 0) ? undefined : 'joining an open context requires the join-open-contexts capability'
  }

  /**
   * Refuses an invitation `inviter` would sign now that the fold would reject when it is claimed:
   * the group deleted (GroupDeleted), the inviter no member or not allowed to invite as `role`
   * (NotAuthorized), the context it names not registered (ContextNotFound) or not one the inviter
   * may let someone into (NotAuthorized). The same rules as the claim's, on the current state.
   */
  checkInvitation(groupId: string, inviter: Buffer, role: Role, contextId?: Buffer): void {
    const g = this.state(groupId)
    if (g.current('deleted') === true) throw new MeroError('GroupDeleted', `group ${groupId} is deleted`)
    const now = g.cut([...g.heads])
    const who = hex(inviter)
    const inviterRole = now.role(who)
    if (!inviterRole) throw new MeroError('NotAuthorized', `${toBase58(inviter)} is not a member of group ${groupId}`)
    const why = whyMayNotInvite(now, who, inviterRole, role)
    if (why) throw new MeroError('NotAuthorized', `cannot invite: ${why}`)
    if (!contextId) return
    const c = hex(contextId)
    if (!now.context(c)?.registered) throw new MeroError('ContextNotFound', `context ${toBase58(contextId)} is not registered in group ${groupId}`)
    const whyNot = whyMayNotInviteInto(now, c, who, inviterRole)
    if (whyNot) throw new MeroError('NotAuthorized', `cannot invite into context ${toBase58(contextId)}: ${whyNot}`)
  }

  /** Whether an invitation was revoked, and who claimed it, in the current state. */
  invitationState(groupId: string, invitationId: string): { revoked: boolean; claimedBy: string[] } {
    const g = this.groups.get(groupId)
    if (!g) return { revoked: false, claimedBy: [] }
    const prefix = `claimed/${invitationId}/`
    return { revoked: g.current(`revoked/${invitationId}`) === true, claimedBy: g.entries(prefix).map(([k]) => b58(k.slice(prefix.length))) }
  }

  view(groupId: string): GroupView {
    const g = this.state(groupId)
    const members: MemberInfo[] = []
    for (const [slot, value] of g.entries('member/')) {
      const m = value as MemberSlot
      if (!('role' in m)) continue
      const id = slot.slice('member/'.length)
      const caps = m.role === 'admin' ? 31 : ((g.current(`caps/${id}`) as number | undefined) ?? 0)
      members.push({ identity: b58(id), role: m.role, capabilities: caps, capabilityNames: capabilityList(caps), alias: (g.current(`malias/${id}`) as string | undefined) ?? null })
    }
    const memberSet = new Set(members.map((m) => m.identity))
    const contexts: ContextInfo[] = []
    for (const [slot, value] of g.entries('ctx/')) {
      const c = value as { app: string; creator: string; registered: boolean }
      if (!c.registered) continue
      const id = slot.slice('ctx/'.length)
      const allowlist = g.entries(`allow/${id}/`).filter(([, v]) => v === true).map(([k]) => b58(k.slice(`allow/${id}/`.length)))
      const joined = g.entries(`joined/${id}/`).filter(([, v]) => v === true).map(([k]) => b58(k.slice(`joined/${id}/`.length)))
      contexts.push({
        contextId: b58(id),
        applicationId: b58(c.app),
        creator: b58(c.creator),
        visibility: g.current(`ctxvis/${id}`) as Visibility,
        allowlist,
        // a context identity is live only while its holder is a member (the removal cascade)
        members: joined.filter((j) => memberSet.has(j)),
        alias: (g.current(`calias/${id}`) as string | undefined) ?? null,
      })
    }
    const defcaps = (g.current('defcaps') as number | undefined) ?? DEFAULT_CAPABILITIES
    const target = g.current('target') as string | undefined
    return {
      groupId,
      owner: b58(g.current('owner') as string),
      alias: (g.current('alias') as string | undefined) ?? null,
      stateHash: hex(g.stateHash()),
      heads: [...g.heads].sort(),
      members,
      settings: { defaultCapabilities: defcaps, defaultCapabilityNames: capabilityList(defcaps), defaultVisibility: (g.current('defvis') as Visibility | undefined) ?? 'open', targetApplication: target ? b58(target) : null },
      contexts,
      equivocations: g.equivocations.map((e) => ({ signer: b58(e.signer), seq: Number(e.seq), opIds: e.opIds })),
      opCount: g.nodes.size,
      pendingOps: this.pendingCount(groupId),
      deleted: g.current('deleted') === true,
    }
  }

  /** The op log in causal order (generation, then id). */
  ops(groupId: string): OpRecord[] {
    const g = this.state(groupId)
    return [...g.nodes.values()]
      .sort((a, b) => a.gen - b.gen || (a.idHex < b.idHex ? -1 : 1))
      .map((n) => ({ opId: n.idHex, signer: toBase58(n.op.signer), seq: Number(n.op.seq), parents: n.parents, kind: n.op.op.kind, status: n.status, reason: n.reason ?? null, generation: n.gen, appliedAt: n.appliedAt }))
  }

  // ---- authoring -----------------------------------------------------------------------

  /** Creates a group owned by `owner`; its id is the id of the signed genesis op. */
  createGroup(owner: KeyPair, settings: { application?: Buffer; defaultCapabilities?: number; defaultVisibility?: Visibility } = {}): { groupId: string; op: SignedOp } {
    const op = signOp(
      {
        groupId: Buffer.alloc(32),
        parents: [],
        seq: 1n,
        op: { kind: 'GroupCreated', application: settings.application, defaultCapabilities: settings.defaultCapabilities ?? DEFAULT_CAPABILITIES, defaultVisibility: settings.defaultVisibility ?? 'open', salt: randomBytes(32) },
      },
      owner,
    )
    this.ingestDecoded([op], { persist: true, emit: true })
    return { groupId: hex(op.id), op }
  }

  /**
   * Signs `op` as `signer` on top of the group's current heads, checks it would be valid, then
   * applies and persists it. An op that would be rejected is refused (NotAuthorized) and not
   * stored. Returns the signed op (to publish).
   */
  issue(groupId: string, signer: KeyPair, op: GroupOp): SignedOp {
    const signed = this.signChecked(groupId, signer, op)
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
  issueWriteBehind(groupId: string, signer: KeyPair, op: GroupOp): { op: SignedOp; persisted: Promise<void> } {
    const signed = this.signChecked(groupId, signer, op)
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

  private signChecked(groupId: string, signer: KeyPair, op: GroupOp): SignedOp {
    const g = this.state(groupId)
    const parents = [...g.heads]
      .map((h) => g.nodes.get(h)!)
      .sort((a, b) => b.gen - a.gen || (a.idHex < b.idHex ? 1 : -1))
      .slice(0, MAX_PARENTS)
      .map((n) => n.op.id)
    const signed = signOp({ groupId: Buffer.from(groupId, 'hex'), parents, seq: g.nextSeq(signer.publicKey), op }, signer)
    // what peers will decode: an op they would drop as malformed is refused here, not applied alone
    decodeSignedOp(signed.bytes, { verify: false })
    const reason = g.evaluate(signed)
    if (reason) throw new MeroError(reason === 'the group is deleted' ? 'GroupDeleted' : 'NotAuthorized', `${op.kind} refused: ${reason}`)
    return signed
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
        results[i] = { opId: '', status: 'invalid', reason: (e as Error).message }
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
    if (g?.has(opId) || this.pending.get(groupId)?.has(opId)) return { opId, groupId, status: 'duplicate' }
    if (op.op.kind !== 'GroupCreated' && !g && op.groupId.equals(Buffer.alloc(32))) return { opId, status: 'invalid', reason: 'op has a zero group id' }

    const missing = op.parents.map(hex).filter((p) => !g?.has(p))
    if (op.op.kind !== 'GroupCreated' && (!g || missing.length)) {
      this.pendingEvicted += this.queue(groupId).park(opId, op, g ? missing : missing.length ? missing : [groupId])
      if (emit && this.events.listens('op.pending')) this.events.emit('op.pending', { groupId: groupOf(op), opId: op.id, missing: missing.length })
      return { opId, groupId, status: 'pending', missing }
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
      g = new GroupState(Buffer.from(groupId, 'hex'))
      this.groups.set(groupId, g)
      batch?.put('groupMeta', Buffer.concat([Buffer.from([META_GROUP]), g.groupId]), Buffer.from('{}'))
    }
    const outcome = g.apply(op)
    batch?.put('groupOps', Buffer.concat([g.groupId, op.id]), op.bytes)
    if (emit) this.emit(g, groupId, op, outcome)
    return { opId: outcome.node.idHex, groupId, status: outcome.node.status, reason: outcome.node.reason }
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
        const role = this.role(groupIdHex, Buffer.from(id, 'hex'))
        if (role && op.op.kind === 'CapabilitiesSet' && ev.listens('member.updated')) ev.emit('member.updated', { groupId, identity: Buffer.from(id, 'hex'), role, capabilities: c.after as number })
      } else if (c.slot === 'deleted' && c.after === true) {
        if (ev.listens('group.deleted')) ev.emit('group.deleted', { groupId })
      }
    }
    if (outcome.equivocation && ev.listens('equivocation')) ev.emit('equivocation', { groupId, signer: Buffer.from(outcome.equivocation.signer, 'hex'), seq: outcome.equivocation.seq })
  }

  private capsOf(groupId: string, memberSlot: string): number {
    const id = memberSlot.slice('member/'.length)
    const role = this.role(groupId, Buffer.from(id, 'hex'))
    return role === 'admin' ? 31 : ((this.groups.get(groupId)?.current(`caps/${id}`) as number | undefined) ?? 0)
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
      results[i] = { opId: '', status: 'invalid', reason: (e as Error).message }
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
      results[index[j]!] = { opId: hex(op.id), status: 'invalid', reason: 'op signature does not verify against its signer' }
    }
  })
  return { results, good, goodIndex }
}
