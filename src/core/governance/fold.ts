import { preciseNowMs } from '../primitives/clock.js'
import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { lostReading, mayRead, type AccessView } from './access.js'
import { invitationId, invitationSignatureValid } from './invitation.js'
import { ALL_CAPABILITIES, Capability, ZERO_ID, type GroupOp, type Role, type SignedOp, type Visibility } from './ops.js'
import { GROUP_SCOPE, scopeKey } from './rotation.js'
import { MaxHeap } from '../primitives/max-heap.js'

/**
 * The deterministic fold of a group's op DAG (DESIGN §6).
 *
 * State is a pure function of the SET of ops: each valid op writes slots; a slot's value is the
 * write with the highest stamp (generation, op id), generation = 1 + max parent generation, so
 * an op always beats what it causally follows. Validity is decided against the state at the
 * op's own causal cut (the fold of its ancestors only), so it does not depend on arrival order:
 * two replicas holding the same ops hold the same state and the same state hash.
 *
 * Authorisation table (signer s, state at the op's cut; "admin" = role admin; admins pass every
 * capability check; nothing is valid after GroupDeleted; read-only members may only leave, set
 * their own alias, and join or leave contexts):
 *
 * | op                     | who may issue it                                                       |
 * |------------------------|------------------------------------------------------------------------|
 * | GroupCreated           | anyone (genesis; s becomes owner and admin)                            |
 * | MemberAdded{m, role}   | admin; or manage-members when role ≠ admin, m is not an admin and m was not removed; never the owner as m |
 * | MemberRemoved{m}       | admin; or manage-members when m is not an admin; m a member; never the owner |
 *
 * Two derived rules keep concurrent histories inside the invariants:
 * - The owner is always an admin member, whatever its member slot says: a transfer to b merged
 *   with a concurrent demotion or removal of b (valid at its own cut, where b was not the owner)
 *   must not leave an owner who cannot act and whom nobody may re-add.
 * - Re-entry block: MemberRemoved sets `blocked/m`, only an admin's MemberAdded clears it, and
 *   no invitation claim (nor a manage-members add) admits a blocked identity. It is a slot of its
 *   own so that a concurrent MemberLeft winning the member slot does not erase the removal.
 * - Uses of an invitation: a claim is valid only while the claims of its invitation in its cut
 *   are fewer than the invitation's uses; concurrent claims cannot see each other, so a member a
 *   claim admitted holds its place only while its claim is among the invitation's first `max`
 *   claims ordered by (generation, op id), the same order as slots: the earlier claim wins,
 *   and between concurrent ones of the same generation the lower op id. A claimant past the uses
 *   is no member, on every node, once the claims meet (what it wrote before, valid at its cut,
 *   stays, as with any op concurrent with a removal).
 *
 * Key epochs (rotation.ts, access.ts): an op may carry a rotation (new keys for the group's topic
 * or contexts, sealed to the identities that may still read them). It is valid only if its
 * signer may read each rotated scope after the op and gives keys only to identities that may
 * read them (rotationRule). An op that takes reading away rotates the scopes concerned
 * (its author adds the rotation, GroupStore.issue); one that cannot (the signer itself loses
 * them: MemberLeft, ContextLeft) or does not (version 1) leaves a mark, and the scope is stale
 * until a rotation follows the mark (epochAt). The frontier rule for concurrent rotations is at
 * epochAt.
 * | MemberLeft             | any member but the owner                                               |
 * | RoleSet{m}             | admin; m a member other than the owner                                 |
 * | CapabilitiesSet{m}     | admin; m a member                                                      |
 * | DefaultCapabilitiesSet, DefaultVisibilitySet, GroupAliasSet | admin                              |
 * | ContextRegistered      | admin or create-context; the context not registered yet                |
 * | ContextDetached        | admin; the context registered                                          |
 * | ContextVisibilitySet, ContextAllowlistSet, ContextAliasSet | admin or the context's creator      |
 * | MemberAliasSet{m}      | admin, or m itself                                                     |
 * | TargetApplicationSet   | admin or manage-application                                            |
 * | InvitationClaimed      | the joiner s, not a member, not removed (only an admin's MemberAdded re-admits a removed member), not having used this invitation, the invitation not used up in the cut; the invitation signed for this group by an inviter who at the cut is admin, or a (not read-only) member who holds invite-members and invites a non-admin; joinedAt ≤ expiresAt; not revoked in the cut. An invitation naming a context c also joins s to c (and allowlists s when c is restricted): c registered, and the inviter an admin, the creator of restricted c, or joined to open c |
 * | InvitationRevoked      | admin, or the inviter (the op then carries the signed invitation)      |
 * | OwnershipTransferred   | the owner, to an admin                                                 |
 * | GroupDeleted           | the owner                                                              |
 * | ContextJoined{c}       | a member: open contexts need admin or join-open-contexts; restricted ones the allowlist (or admin) |
 * | ContextLeft{c}         | a member joined to c                                                   |
 * | KeyRotated             | any member (its rotation says what it rotates)                         |
 */

type Value = string | number | boolean | null | { [k: string]: string | number | boolean | null }

interface Write {
  gen: number
  id: Buffer
  idHex: string
  value: Value
}

export interface OpNode {
  op: SignedOp
  idHex: string
  gen: number
  parents: string[]
  status: 'applied' | 'rejected'
  reason?: string
  /** Arrival order on this node (display only; never part of the state). */
  arrival: number
  /** When this node applied it: wall-clock ms with µs resolution (display only). */
  appliedAt: number
  /** Index of the signer in this replica's signer table. */
  signer: number
  /** Version vector: per signer index, the highest seq among this op and its ancestors. */
  vv: number[]
}

export interface SlotChange {
  slot: string
  before: Value | undefined
  after: Value
}

export interface ApplyOutcome {
  node: OpNode
  changes: SlotChange[]
  equivocation?: { signer: string; seq: bigint; opIds: string[] }
}

/**
 * A member slot. `claim` and `max`: admitted by a claim of that invitation (hex id), which admits
 * `max` identities (see the derived rules).
 */
export type MemberSlot = { role: Role; claim?: string; max?: number } | { gone: 'removed' | 'left' }

/** A rotation of one scope, as the fold records it. */
export interface RotationRef {
  idHex: string
  gen: number
  keyId: Buffer
  /** 1 + the epoch at the op's cut (the genesis and a context's registration start at 0). */
  epoch: number
  /** The identities (hex) the rotation gave this scope's key. */
  recipients: string[]
}

/** A scope's key at a governance position (a set of op ids): see GroupState.epochAt. */
export interface EpochAt {
  /** The rotations of the scope in the cut that no other one in the cut follows, by op id. */
  frontier: RotationRef[]
  epoch: number
  /**
   * Someone lost reading in the cut and no rotation of the scope follows that (a member left, or
   * an op of version 1 removed someone): the key must not be used until a member rotates it.
   */
  stale: boolean
}

/** What an op would do at a cut: its writes, and what it takes away (scope → identities). */
export interface OpPlan {
  writes: Writes
  lost: Map<string, string[]>
  after: View
}

const hex = (b: Buffer) => b.toString('hex')

function stampGreater(a: { gen: number; id: Buffer }, b: { gen: number; id: Buffer }): boolean {
  return a.gen !== b.gen ? a.gen > b.gen : Buffer.compare(a.id, b.id) > 0
}

/** Where a slot's name lists under: 'member/x' under 'member/', 'joined/c/x' under 'joined/c/'. */
function parentOf(slot: string): string {
  return slot.slice(0, slot.lastIndexOf('/') + 1)
}

/**
 * A state of the group (now, at a cut, or after an op): its slots, and what the derived rules make
 * of them. Subclasses say how a slot is read.
 */
export abstract class View implements AccessView {
  abstract get(slot: string): Value | undefined
  /** The write a slot's value comes from. */
  abstract winner(slot: string): { gen: number; id: Buffer } | undefined
  abstract names(parent: string): string[]

  member(pk: string): MemberSlot | undefined {
    if (pk === this.get('owner')) return { role: 'admin' }
    const m = this.get(`member/${pk}`) as MemberSlot | undefined
    // a member admitted by a claim holds its place only among the invitation's first `max` claims
    if (m && 'role' in m && m.claim !== undefined && this.claimants(m.claim).indexOf(pk) >= m.max!) return undefined
    return m
  }

  role(pk: string): Role | undefined {
    const m = this.member(pk)
    return m && 'role' in m ? m.role : undefined
  }

  caps(pk: string): number {
    const role = this.role(pk)
    if (!role) return 0
    if (role === 'admin') return ALL_CAPABILITIES
    return (this.get(`caps/${pk}`) as number | undefined) ?? 0
  }

  context(id: string): { app: string; creator: string; registered: boolean } | undefined {
    return this.get(`ctx/${id}`) as { app: string; creator: string; registered: boolean } | undefined
  }

  /** Who claimed an invitation (hex), first claim first: by (generation, op id) of the claim. */
  claimants(invitation: string): string[] {
    const parent = `claimed/${invitation}/`
    return this.names(parent)
      .map((slot) => ({ pk: slot.slice(parent.length), w: this.winner(slot)! }))
      .sort((a, b) => (stampGreater(a.w, b.w) ? 1 : stampGreater(b.w, a.w) ? -1 : 0))
      .map((c) => c.pk)
  }
}

export class GroupState {
  readonly nodes = new Map<string, OpNode>()
  readonly heads = new Set<string>()
  private readonly slots = new Map<string, Write[]>()
  /** Slot names by parent (see parentOf), for the views' listings. */
  private readonly children = new Map<string, Set<string>>()
  private readonly seqs = new Map<string, Map<bigint, string[]>>()
  /** Per signer (hex): the highest seq among its ops held here. */
  private readonly maxSeq = new Map<string, bigint>()
  /** Signer table for version vectors (its order is local; ancestry answers do not depend on it). */
  private readonly signerIndex = new Map<string, number>()
  /** Signers whose ops do not form one chain (equivocation or a gap): ancestry needs the walk. */
  readonly forked = new Set<number>()
  readonly equivocations: { signer: string; seq: bigint; opIds: string[] }[] = []
  /** Per scope: its rotations (highest generation first) and the ops that took reading away without one. */
  private readonly epochs = new Map<string, { rotations: RotationRef[]; marks: { idHex: string; gen: number }[] }>()
  private arrivals = 0
  private readonly whole: WholeView

  constructor(readonly groupId: Buffer) {
    this.whole = new WholeView(this)
  }

  has(idHex: string): boolean {
    return this.nodes.has(idHex)
  }

  /** The current state (the fold of every op this node holds). */
  now(): View {
    return this.whole
  }

  /** Current raw value of a slot (no derived rule applied; `now()` applies them). */
  current(slot: string): Value | undefined {
    return this.slots.get(slot)?.[0]?.value
  }

  /** The current winning write of a slot. */
  currentWrite(slot: string): Write | undefined {
    return this.slots.get(slot)?.[0]
  }

  /** Slot names under a parent ('member/', 'joined/<c>/'), with or without a value now. */
  namesUnder(parent: string): ReadonlySet<string> {
    return this.children.get(parent) ?? EMPTY
  }

  /** The owner's member slot always reads as admin (see the derived rules above). */
  private ownerIsAdmin(slot: string, value: Value | undefined): Value | undefined {
    return slot.startsWith('member/') && slot.slice('member/'.length) === this.slots.get('owner')?.[0]?.value ? { role: 'admin' } : value
  }

  /** Every slot with its current value, in key order. */
  entries(prefix = ''): [string, Value][] {
    const out: [string, Value][] = []
    for (const [k, writes] of this.slots) if (k.startsWith(prefix) && writes.length) out.push([k, this.ownerIsAdmin(k, writes[0]!.value)!])
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  /** SHA-256 over the current slots in key order: equal op sets give equal hashes. */
  stateHash(): Buffer {
    const parts: string[] = []
    for (const [k, v] of this.entries()) parts.push(`${k}=${JSON.stringify(v)}`)
    return sha256(this.groupId, parts.join('\n'))
  }

  /** A view of the state at a cut (the fold of the ancestors of `parents`, inclusive). */
  cut(parents: string[]): CutView {
    return new CutView(this, parents)
  }

  /** All writes of a slot, highest stamp first (for CutView). */
  writesOf(slot: string): readonly Write[] {
    return this.slots.get(slot) ?? []
  }

  /**
   * Applies an op whose parents are all present (the caller's pending queue ensures it).
   * Decides its validity at its cut, records it, and merges its writes.
   */
  apply(op: SignedOp): ApplyOutcome {
    const idHex = hex(op.id)
    const parents = op.parents.map(hex)
    let gen = 0
    for (const p of parents) {
      const n = this.nodes.get(p)
      if (!n) throw new MeroError('Internal', `apply before parent ${p} is known`)
      if (n.gen + 1 > gen) gen = n.gen + 1
    }
    const cut = this.cut(parents)
    let decided: Decision | undefined
    let reason: string | undefined
    try {
      decided = this.decide(op, cut, { gen, id: op.id })
    } catch (e) {
      if (!(e instanceof Rejection)) throw e
      reason = e.message
    }
    // the epoch an op's rotation starts follows from the rotations in its cut (read before it is recorded)
    const epochs = decided && op.rotation ? op.rotation.scopes.map((s) => this.epochAt(scopeKey(s), parents).epoch + 1) : []
    const signer = this.indexOf(op.signer)
    const vv = cut.vector().slice()
    const seq = Number(op.seq)
    if ((vv[signer] ?? 0) !== seq - 1 || this.seqs.get(hex(op.signer))?.has(op.seq)) this.forked.add(signer)
    while (vv.length <= signer) vv.push(0)
    vv[signer] = Math.max(vv[signer]!, seq)
    const node: OpNode = { op, idHex, gen, parents, status: reason ? 'rejected' : 'applied', reason, arrival: this.arrivals++, appliedAt: preciseNowMs(), signer, vv }
    this.nodes.set(idHex, node)
    for (const p of parents) this.heads.delete(p)
    this.heads.add(idHex)

    const changes: SlotChange[] = []
    for (const [slot, value] of decided?.writes ?? []) {
      const change = this.write(slot, { gen, id: op.id, idHex, value })
      if (change) changes.push(change)
      // a new owner whose member slot lost a concurrent demotion or removal becomes an admin here
      const raw = change?.slot === 'owner' ? this.slots.get(`member/${change.after as string}`)?.[0]?.value : undefined
      if (raw && !(typeof raw === 'object' && raw.role === 'admin')) changes.push({ slot: `member/${change!.after as string}`, before: raw, after: { role: 'admin' } })
    }
    if (decided) this.recordEpochs(op, idHex, gen, decided, epochs)
    return { node, changes, equivocation: this.trackSeq(op, idHex) }
  }

  /** Records an applied op's rotations, and the scopes it took reading of away without rotating them. */
  private recordEpochs(op: SignedOp, idHex: string, gen: number, d: Decision, epochs: number[]): void {
    const rotated = new Set<string>()
    op.rotation?.scopes.forEach((s, i) => {
      const k = scopeKey(s)
      rotated.add(k)
      const recipients = op.rotation!.envelopes.filter((e) => e.scopes.includes(i)).map((e) => hex(e.recipient))
      const list = this.scopeEpochs(k).rotations
      let at = 0
      while (at < list.length && list[at]!.gen >= gen) at++
      list.splice(at, 0, { idHex, gen, keyId: s.keyId, epoch: epochs[i]!, recipients })
    })
    for (const scope of d.lost.keys()) if (!rotated.has(scope)) this.scopeEpochs(scope).marks.push({ idHex, gen })
  }

  private scopeEpochs(scope: string) {
    let e = this.epochs.get(scope)
    if (!e) this.epochs.set(scope, (e = { rotations: [], marks: [] }))
    return e
  }

  /**
   * The key epoch of a scope ('group' or a context in hex) at a governance position, a pure
   * function of the rotations in the position's cut (DESIGN §6): the frontier is the rotations of
   * the scope that no other rotation of it in the cut follows. One: its key is the epoch's key.
   * Several (concurrent rotations): the epoch's key is derived from all of theirs (keyring.ts), so
   * it is known only to identities that every one of them gave a key: two admins removing two
   * members at once each wrap for the other's target, and neither target derives the merged key.
   */
  epochAt(scope: string, position: string[]): EpochAt {
    const e = this.epochs.get(scope)
    if (!e) return { frontier: [], epoch: -1, stale: true }
    const cut = this.cut(position)
    const frontier: RotationRef[] = []
    const cuts = new Map<string, CutView>()
    const follows = (f: RotationRef, idHex: string) => {
      let c = cuts.get(f.idHex)
      if (!c) cuts.set(f.idHex, (c = this.cut([f.idHex])))
      return c.includes(idHex)
    }
    // highest generation first: whatever follows a rotation has a higher generation, so a rotation
    // is in the frontier unless one already in it follows it
    for (const r of e.rotations) if (cut.includes(r.idHex) && !frontier.some((f) => follows(f, r.idHex))) frontier.push(r)
    frontier.sort((a, b) => (a.idHex < b.idHex ? -1 : 1))
    const stale = frontier.length === 0 || e.marks.some((m) => cut.includes(m.idHex) && !frontier.some((f) => follows(f, m.idHex)))
    return { frontier, epoch: Math.max(-1, ...frontier.map((f) => f.epoch)), stale }
  }

  /** Scopes with a rotation or a mark (every scope the group has keyed). */
  keyedScopes(): string[] {
    return [...this.epochs.keys()]
  }

  private write(slot: string, w: Write): SlotChange | undefined {
    let list = this.slots.get(slot)
    if (!list) {
      this.slots.set(slot, (list = []))
      const parent = parentOf(slot)
      let set = this.children.get(parent)
      if (!set) this.children.set(parent, (set = new Set()))
      set.add(slot)
    }
    let i = 0
    while (i < list.length && stampGreater(list[i]!, w)) i++
    list.splice(i, 0, w)
    if (i !== 0) return undefined
    // no earlier write: nothing before (the owner rule must not invent a previous membership)
    const before = list[1] ? this.ownerIsAdmin(slot, list[1].value) : undefined
    const after = this.ownerIsAdmin(slot, w.value)!
    return JSON.stringify(before) === JSON.stringify(after) ? undefined : { slot, before, after }
  }

  private trackSeq(op: SignedOp, idHex: string): ApplyOutcome['equivocation'] {
    const signer = hex(op.signer)
    let bySeq = this.seqs.get(signer)
    if (!bySeq) this.seqs.set(signer, (bySeq = new Map()))
    const ids = bySeq.get(op.seq)
    if (!ids) {
      bySeq.set(op.seq, [idHex])
      if (op.seq > (this.maxSeq.get(signer) ?? 0n)) this.maxSeq.set(signer, op.seq)
      return undefined
    }
    ids.push(idHex)
    ids.sort()
    const existing = this.equivocations.find((e) => e.signer === signer && e.seq === op.seq)
    if (existing) existing.opIds = [...ids]
    else this.equivocations.push({ signer, seq: op.seq, opIds: [...ids] })
    return { signer, seq: op.seq, opIds: [...ids] }
  }

  private indexOf(signer: Buffer): number {
    const k = hex(signer)
    let i = this.signerIndex.get(k)
    if (i === undefined) this.signerIndex.set(k, (i = this.signerIndex.size))
    return i
  }

  /** The next seq for a signer on this node: one past the highest it has used. */
  nextSeq(signer: Buffer): bigint {
    return (this.maxSeq.get(hex(signer)) ?? 0n) + 1n
  }

  /** Why this op would be rejected if applied now (undefined when valid); changes nothing. */
  evaluate(op: SignedOp): string | undefined {
    try {
      this.decide(op, this.cut(op.parents.map(hex)), { gen: this.genOf(op.parents.map(hex)), id: op.id })
      return undefined
    } catch (e) {
      if (e instanceof Rejection) return e.message
      throw e
    }
  }

  /**
   * What an op (not signed yet, without its rotation) would write and take away on top of
   * `parents`, for its author: the rotation it must carry follows from `lost`. Throws a
   * Rejection-free MeroError-less answer: `{reason}` when the op would be rejected.
   */
  plan(op: GroupOp, signer: Buffer, parents: string[]): OpPlan | { reason: string } {
    const env = { op, signer, groupId: op.kind === 'GroupCreated' ? ZERO_ID : this.groupId, parents: parents.map((p) => Buffer.from(p, 'hex')), seq: 1n } as unknown as SignedOp
    try {
      return this.decide(env, this.cut(parents), { gen: this.genOf(parents), id: Buffer.alloc(32, 0xff) }, { skipRotation: true })
    } catch (e) {
      if (e instanceof Rejection) return { reason: e.message }
      throw e
    }
  }

  private genOf(parents: string[]): number {
    let gen = 0
    for (const p of parents) gen = Math.max(gen, (this.nodes.get(p)?.gen ?? -1) + 1)
    return gen
  }

  /**
   * The writes of a valid op, what it takes away, and the state after it; or a Rejection with the
   * reason. The op kind's rule (RULES) decides, then its rotation is checked (rotationRule).
   */
  private decide(signed: SignedOp, cut: CutView, stamp: { gen: number; id: Buffer }, opts: { skipRotation?: boolean } = {}): Decision {
    const writes = this.writesOf_(signed, cut)
    const after = new AfterView(cut, writes, stamp)
    const lost = lostReading(cut, after, writes)
    if (!opts.skipRotation) rotationRule(signed, after)
    return { writes, lost, after }
  }

  private writesOf_(signed: SignedOp, cut: CutView): Writes {
    const op = signed.op
    const s = hex(signed.signer)
    if (op.kind === 'GroupCreated') {
      if (this.nodes.size > 0) reject('a group has exactly one GroupCreated op')
      return genesis(op, s)
    }
    if (!signed.groupId.equals(this.groupId)) reject('op belongs to another group')
    if (cut.get('deleted') === true) reject('the group is deleted')
    if (op.kind === 'InvitationClaimed') return claim(signed, op, cut, this.groupId)
    const rule = RULES[op.kind]
    const role = cut.role(s)
    if (!role) reject('signer is not a member of the group')
    if (role === 'read-only' && !rule.readOnly) reject('read-only members cannot issue this op')
    const admin = role === 'admin'
    const by: Signer = {
      s,
      admin,
      owner: cut.get('owner') as string,
      may: (bit) => admin || (cut.caps(s) & bit) !== 0,
      requireAdmin: () => {
        if (!admin) reject(`${op.kind} requires an admin`)
      },
    }
    return (rule.writes as (op: GroupOp, cut: CutView, by: Signer) => Writes)(op, cut, by)
  }
}

const EMPTY: ReadonlySet<string> = new Set()

interface Decision {
  writes: Writes
  lost: Map<string, string[]>
  after: View
}

/**
 * An op's rotation is valid when every scope it rotates is the group or a context registered
 * after the op, its signer may read each of them after the op (so a member who leaves cannot
 * choose the next key), and every envelope gives keys only to identities that may read their
 * scopes after the op (so a removal cannot hand the new key to the member it removes).
 */
function rotationRule(signed: SignedOp, after: View): void {
  const rot = signed.rotation
  if (!rot) return
  const s = hex(signed.signer)
  const scopes = rot.scopes.map(scopeKey)
  for (const scope of scopes) {
    if (scope !== GROUP_SCOPE && !after.context(scope)?.registered) reject('the rotation names a context that is not registered in this group')
    if (!mayRead(after, s, scope)) reject('the signer may not read a scope it rotates')
  }
  for (const e of rot.envelopes) {
    const r = hex(e.recipient)
    for (const i of e.scopes) if (!mayRead(after, r, scopes[i]!)) reject('the rotation gives a key to an identity that may not read it')
  }
}

type Writes = [string, Value][]
type OpOf<K extends GroupOp['kind']> = Extract<GroupOp, { kind: K }>

/** The signer of a member's op, at the op's cut. */
interface Signer {
  /** Its public key, hex. */
  s: string
  admin: boolean
  owner: string
  /** Admin, or holds the capability. */
  may(bit: number): boolean
  requireAdmin(): void
}

interface Rule<K extends GroupOp['kind']> {
  /** Read-only members may issue it too (they may only leave, set their own alias, join or leave contexts, rotate keys). */
  readOnly?: true
  /** The op's writes, or a Rejection (see the authorisation table at the top of this file). */
  writes(op: OpOf<K>, cut: CutView, by: Signer): Writes
}

/** The ops a member issues: who may, and what each writes. */
type MemberOpKind = Exclude<GroupOp['kind'], 'GroupCreated' | 'InvitationClaimed'>

const RULES: { [K in MemberOpKind]: Rule<K> } = {
  MemberAdded: {
    writes(op, cut, { admin, owner, may }) {
      const m = hex(op.member)
      if (m === owner) reject("the owner's role cannot change")
      if (!admin) {
        if (!may(Capability.ManageMembers)) reject('MemberAdded requires an admin or the manage-members capability')
        if (op.role === 'admin') reject('only admins may add admins')
        if (cut.role(m) === 'admin') reject('only admins may change an admin')
        if (cut.get(`blocked/${m}`) === true) reject('a removed member can only be re-added by an admin')
      }
      const writes: Writes = [
        [`member/${m}`, { role: op.role }],
        [`caps/${m}`, op.role === 'admin' ? 0 : (cut.get('defcaps') as number)],
      ]
      if (admin) writes.push([`blocked/${m}`, false])
      return writes
    },
  },
  MemberRemoved: {
    writes(op, cut, { admin, owner, may }) {
      const m = hex(op.member)
      if (m === owner) reject('the owner cannot be removed')
      const target = cut.role(m)
      if (!target) reject('not a member of the group')
      if (!admin && (!may(Capability.ManageMembers) || target === 'admin')) reject('MemberRemoved requires an admin (or manage-members for a non-admin member)')
      return [
        [`member/${m}`, { gone: 'removed' }],
        [`caps/${m}`, 0],
        [`blocked/${m}`, true],
      ]
    },
  },
  MemberLeft: {
    readOnly: true,
    writes(_op, _cut, { s, owner }) {
      if (s === owner) reject('the owner cannot leave; transfer ownership first')
      return [
        [`member/${s}`, { gone: 'left' }],
        [`caps/${s}`, 0],
      ]
    },
  },
  RoleSet: {
    writes(op, cut, { owner, requireAdmin }) {
      requireAdmin()
      const m = hex(op.member)
      if (m === owner) reject('the owner cannot be demoted')
      if (!cut.role(m)) reject('not a member of the group')
      return [[`member/${m}`, { role: op.role }]]
    },
  },
  CapabilitiesSet: {
    writes(op, cut, { requireAdmin }) {
      requireAdmin()
      const m = hex(op.member)
      if (!cut.role(m)) reject('not a member of the group')
      return [[`caps/${m}`, op.capabilities & ALL_CAPABILITIES]]
    },
  },
  DefaultCapabilitiesSet: {
    writes(op, _cut, { requireAdmin }) {
      requireAdmin()
      return [['defcaps', op.capabilities & ALL_CAPABILITIES]]
    },
  },
  DefaultVisibilitySet: {
    writes(op, _cut, { requireAdmin }) {
      requireAdmin()
      return [['defvis', op.visibility]]
    },
  },
  GroupAliasSet: {
    writes(op, _cut, { requireAdmin }) {
      requireAdmin()
      return [['alias', op.alias]]
    },
  },
  TargetApplicationSet: {
    writes(op, _cut, { may }) {
      if (!may(Capability.ManageApplication)) reject('TargetApplicationSet requires an admin or the manage-application capability')
      return [['target', hex(op.application)]]
    },
  },
  ContextRegistered: {
    writes(op, cut, { s, may }) {
      if (!may(Capability.CreateContext)) reject('ContextRegistered requires an admin or the create-context capability')
      const c = hex(op.contextId)
      if (cut.context(c)) reject('the context is already registered')
      const visibility = op.visibility ?? (cut.get('defvis') as Visibility)
      const writes: Writes = [
        [`ctx/${c}`, { app: hex(op.application), creator: s, registered: true }],
        [`ctxvis/${c}`, visibility],
        [`joined/${c}/${s}`, true],
      ]
      if (visibility === 'restricted') writes.push([`allow/${c}/${s}`, true])
      return writes
    },
  },
  ContextDetached: {
    writes(op, cut, { requireAdmin }) {
      requireAdmin()
      const c = hex(op.contextId)
      const ctx = cut.context(c)
      if (!ctx?.registered) reject('the context is not registered in this group')
      return [[`ctx/${c}`, { ...ctx!, registered: false }]]
    },
  },
  ContextVisibilitySet: {
    writes(op, cut, by) {
      const c = contextManagedBy(cut, op.contextId, by)
      const writes: Writes = [[`ctxvis/${c.id}`, op.visibility]]
      if (op.visibility === 'restricted') writes.push([`allow/${c.id}/${c.creator}`, true])
      return writes
    },
  },
  ContextAllowlistSet: {
    writes(op, cut, by) {
      const c = contextManagedBy(cut, op.contextId, by)
      return [...op.add.map((k): [string, Value] => [`allow/${c.id}/${hex(k)}`, true]), ...op.remove.map((k): [string, Value] => [`allow/${c.id}/${hex(k)}`, false])]
    },
  },
  ContextAliasSet: {
    writes(op, cut, by) {
      const c = contextManagedBy(cut, op.contextId, by)
      return [[`calias/${c.id}`, op.alias]]
    },
  },
  MemberAliasSet: {
    readOnly: true,
    writes(op, cut, { s, admin }) {
      const m = hex(op.member)
      if (!admin && m !== s) reject('members may set only their own alias')
      if (!cut.role(m)) reject('not a member of the group')
      return [[`malias/${m}`, op.alias]]
    },
  },
  InvitationRevoked: {
    writes(op, _cut, { s, admin }) {
      const id = hex(op.invitationId)
      if (!admin) {
        if (!op.invitation) reject('InvitationRevoked requires an admin, or the inviter with the signed invitation')
        if (hex(invitationId(op.invitation!)) !== id) reject('the invitation does not match the revoked id')
        if (hex(op.invitation!.inviter) !== s) reject('only the inviter or an admin may revoke an invitation')
      }
      return [[`revoked/${id}`, true]]
    },
  },
  OwnershipTransferred: {
    writes(op, cut, { s, owner }) {
      if (s !== owner) reject('only the owner transfers ownership')
      const n = hex(op.newOwner)
      if (cut.role(n) !== 'admin') reject('the new owner must be an admin of the group')
      return [['owner', n]]
    },
  },
  GroupDeleted: {
    writes(_op, _cut, { s, owner }) {
      if (s !== owner) reject('only the owner deletes the group')
      return [['deleted', true]]
    },
  },
  ContextJoined: {
    readOnly: true,
    writes(op, cut, { s, admin, may }) {
      const c = hex(op.contextId)
      const ctx = cut.context(c)
      if (!ctx?.registered) reject('the context is not registered in this group')
      const visibility = cut.get(`ctxvis/${c}`) as Visibility
      if (!admin) {
        if (visibility === 'restricted' ? cut.get(`allow/${c}/${s}`) !== true : !may(Capability.JoinOpenContexts)) {
          reject(visibility === 'restricted' ? 'the context is restricted and the signer is not on its allowlist' : 'joining an open context requires the join-open-contexts capability')
        }
      }
      return [[`joined/${c}/${s}`, true]]
    },
  },
  ContextLeft: {
    readOnly: true,
    writes(op, cut, { s }) {
      const c = hex(op.contextId)
      if (cut.get(`joined/${c}/${s}`) !== true) reject('not a member of the context')
      return [[`joined/${c}/${s}`, false]]
    },
  },
  KeyRotated: {
    readOnly: true,
    writes() {
      return [] // its rotation is the whole op (checked by rotationRule)
    },
  },
}

/** GroupCreated: the signer becomes the owner and an admin. */
function genesis(op: OpOf<'GroupCreated'>, s: string): Writes {
  const writes: Writes = [
    ['owner', s],
    [`member/${s}`, { role: 'admin' }],
    ['defcaps', op.defaultCapabilities & ALL_CAPABILITIES],
    ['defvis', op.defaultVisibility],
  ]
  if (op.application) writes.push(['target', hex(op.application)])
  return writes
}

/** A context an admin or its creator changes (visibility, allowlist, alias). */
function contextManagedBy(cut: CutView, contextId: Buffer, { s, admin }: Signer): { id: string; creator: string } {
  const id = hex(contextId)
  const ctx = cut.context(id)
  if (!ctx?.registered) reject('the context is not registered in this group')
  if (!admin && ctx!.creator !== s) reject("only an admin or the context's creator may change it")
  return { id, creator: ctx!.creator }
}

/** InvitationClaimed: the joiner, not a member yet, with an invitation valid at the claim's cut. */
function claim(signed: SignedOp, op: OpOf<'InvitationClaimed'>, cut: CutView, groupId: Buffer): Writes {
  const s = hex(signed.signer)
  const inv = op.invitation
  if (!inv.groupId.equals(groupId)) reject('the invitation is for another group')
  if (!invitationSignatureValid(inv)) reject("the invitation's signature does not verify")
  const id = hex(invitationId(inv))
  const inviter = hex(inv.inviter)
  const inviterRole = cut.role(inviter)
  if (!inviterRole) reject('the inviter is not a member at the claim')
  const why = whyMayNotInvite(cut, inviter, inviterRole!, inv.role)
  if (why) reject(why)
  if (op.joinedAt > inv.expiresAt) reject('the invitation had expired when it was claimed')
  if (cut.get(`revoked/${id}`) === true) reject('the invitation was revoked')
  const current = cut.member(s)
  if (current && 'role' in current) reject('already a member')
  if (cut.get(`blocked/${s}`) === true) reject('a removed member can only be re-added by an admin')
  if (cut.get(`claimed/${id}/${s}`) === true) reject('this identity already used this invitation')
  const used = inv.maxUses === undefined ? 0 : cut.claimants(id).length
  if (inv.maxUses !== undefined && used >= inv.maxUses) reject(`the invitation has been used ${used} time${used === 1 ? '' : 's'}, all it allows`)
  const writes: Writes = [
    [`member/${s}`, inv.maxUses === undefined ? { role: inv.role } : { role: inv.role, claim: id, max: inv.maxUses }],
    [`caps/${s}`, inv.role === 'admin' ? 0 : (cut.get('defcaps') as number)],
    [`claimed/${id}/${s}`, true],
  ]
  if (inv.context) {
    // an invitation naming a context admits the joiner to it too (JoinGroupContext)
    const c = hex(inv.context)
    const whyNot = whyMayNotInviteInto(cut, c, inviter, inviterRole!)
    if (whyNot) reject(whyNot)
    writes.push(...(cut.get(`ctxvis/${c}`) === 'restricted' ? ([[`allow/${c}/${s}`, true], [`joined/${c}/${s}`, true]] as Writes) : ([[`joined/${c}/${s}`, true]] as Writes)))
  }
  return writes
}

/**
 * Why `inviter` (with `inviterRole`, in a state) may not invite someone as `role`, or undefined
 * when it may: an admin, or a (not read-only) member with invite-members inviting a non-admin.
 * The fold checks a claim by this rule at the claim's cut; the node checks an invitation it
 * creates by it in the current state (GroupStore.whyMayNotInvite).
 */
export function whyMayNotInvite(state: Pick<CutView, 'caps'>, inviter: string, inviterRole: Role, role: Role): string | undefined {
  if (inviterRole === 'admin') return undefined
  if (role === 'admin') return 'only admins may invite admins'
  if (inviterRole === 'read-only') return 'read-only members may not invite'
  if ((state.caps(inviter) & Capability.InviteMembers) === 0) return 'the inviter may not invite members'
  return undefined
}

/**
 * Why `inviter` may not invite into context `c` (hex), or undefined when it may let someone in:
 * an admin, the creator of a restricted context (who manages its allowlist), or a member joined
 * to an open one.
 */
export function whyMayNotInviteInto(state: Pick<CutView, 'get' | 'context'>, c: string, inviter: string, inviterRole: Role): string | undefined {
  const ctx = state.context(c)
  if (!ctx?.registered) return "the invitation's context is not registered in this group"
  if (inviterRole === 'admin') return undefined
  const restricted = state.get(`ctxvis/${c}`) === 'restricted'
  if (restricted && ctx.creator !== inviter) return "only an admin or the context's creator may invite into a restricted context"
  if (!restricted && state.get(`joined/${c}/${inviter}`) !== true) return 'the inviter has not joined the context'
  return undefined
}

class Rejection extends Error {}

function reject(reason: string): never {
  throw new Rejection(reason)
}

/** The current state: every op this node holds. */
class WholeView extends View {
  constructor(private readonly state: GroupState) {
    super()
  }

  get(slot: string): Value | undefined {
    return this.state.current(slot)
  }

  winner(slot: string): Write | undefined {
    return this.state.currentWrite(slot)
  }

  names(parent: string): string[] {
    return [...this.state.namesUnder(parent)]
  }
}

/**
 * The state at a cut. When the cut is exactly the current heads (the common, linear case) it
 * is the current state; otherwise a slot's value is its highest-stamped write among the cut's
 * ancestors, found by walking back from the cut in decreasing generation, never below the
 * generation of the write being tested.
 */
export class CutView extends View {
  private readonly whole: boolean
  private readonly visited = new Set<string>()
  private readonly queued = new Set<string>()
  /** (generation, id) for the backwards ancestry walk. */
  private readonly frontier = new MaxHeap<{ gen: number; id: string }>((x) => x.gen)
  private vv?: number[]

  constructor(
    private readonly state: GroupState,
    private readonly parents: string[],
  ) {
    super()
    this.whole = parents.length === state.heads.size && parents.every((p) => state.heads.has(p))
    for (const p of parents) {
      const n = state.nodes.get(p)
      if (n && !this.queued.has(p)) {
        this.queued.add(p)
        this.frontier.push({ gen: n.gen, id: p })
      }
    }
  }

  /** The cut's version vector: element-wise max of its parents' vectors. */
  vector(): number[] {
    if (!this.vv) {
      const out: number[] = []
      for (const p of this.parents) {
        const v = this.state.nodes.get(p)!.vv
        for (let i = 0; i < v.length; i++) if ((out[i] ?? 0) < v[i]!) out[i] = v[i]!
      }
      for (let i = 0; i < out.length; i++) out[i] ??= 0
      this.vv = out
    }
    return this.vv
  }

  /** Is this op (held by the replica) the cut or one of its ancestors? */
  includes(idHex: string): boolean {
    const n = this.state.nodes.get(idHex)
    return n !== undefined && this.contains(idHex, n.gen)
  }

  /**
   * Is op `idHex` (generation `gen`) the cut or one of its ancestors? When its signer's ops form
   * one chain, the version vector answers exactly; otherwise walk back from the cut.
   */
  private contains(idHex: string, gen: number): boolean {
    const node = this.state.nodes.get(idHex)!
    if (!this.state.forked.has(node.signer)) return (this.vector()[node.signer] ?? 0) >= Number(node.op.seq)
    if (this.visited.has(idHex)) return true
    for (let top = this.frontier.peek(); top && top.gen >= gen; top = this.frontier.peek()) {
      this.frontier.pop()
      this.visited.add(top.id)
      for (const p of this.state.nodes.get(top.id)!.parents) {
        if (this.queued.has(p)) continue
        this.queued.add(p)
        this.frontier.push({ gen: this.state.nodes.get(p)!.gen, id: p })
      }
    }
    return this.visited.has(idHex)
  }

  winner(slot: string): Write | undefined {
    if (this.whole) return this.state.currentWrite(slot)
    for (const w of this.state.writesOf(slot)) if (this.contains(w.idHex, w.gen)) return w
    return undefined
  }

  get(slot: string): Value | undefined {
    return this.winner(slot)?.value
  }

  names(parent: string): string[] {
    const out: string[] = []
    for (const slot of this.state.namesUnder(parent)) if (this.winner(slot)) out.push(slot)
    return out
  }
}

/** A state with an op's writes on top (what the op leaves), for the checks of what it takes away. */
class AfterView extends View {
  private readonly overlay: Map<string, Value>

  constructor(
    private readonly base: View,
    writes: Writes,
    private readonly stamp: { gen: number; id: Buffer },
  ) {
    super()
    this.overlay = new Map(writes)
  }

  get(slot: string): Value | undefined {
    return this.overlay.has(slot) ? this.overlay.get(slot) : this.base.get(slot)
  }

  winner(slot: string): { gen: number; id: Buffer } | undefined {
    return this.overlay.has(slot) ? this.stamp : this.base.winner(slot)
  }

  names(parent: string): string[] {
    const out = new Set(this.base.names(parent))
    for (const slot of this.overlay.keys()) if (parentOf(slot) === parent) out.add(slot)
    return [...out]
  }
}
