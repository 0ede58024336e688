import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyPairFromSeed, type KeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { createInvitation } from '../../../src/core/governance/invitation.js'
import { DEFAULT_CAPABILITIES, ROLES, signOp, type GroupOp } from '../../../src/core/governance/ops.js'
import { opsOf, raw, shuffle, viewOf } from './helpers.js'

/**
 * Convergence (DESIGN §6): several identities author random histories on their own replicas,
 * exchanging ops now and then (so branches are concurrent), including ops their authors are not
 * allowed to issue, equivocations (a second op with a seq its signer already used) and
 * duplicates; delivering all ops to fresh replicas in random orders gives identical state hashes
 * and identical member, role, capability and equivocation views.
 *
 * Everything the ops are made of comes from fixed seeds or from fast-check's generators (keys,
 * the genesis salt, invitation salts and times): a counterexample replays with its seed.
 */
const people: KeyPair[] = [1, 2, 3, 4].map((n) => keyPairFromSeed(Buffer.alloc(32, n)))
const ctxIds = [Buffer.alloc(32, 0xc1), Buffer.alloc(32, 0xc2)]
const app = Buffer.alloc(32, 0xa1)
/** The invitations' clock: claims are made at T0, invitations expire around it (some before). */
const T0 = 1_700_000_000_000

const opArb = (groupId: Buffer): fc.Arbitrary<(target: KeyPair) => GroupOp> =>
  fc.oneof(
    fc.constantFrom(...ROLES).map((role) => (t: KeyPair) => ({ kind: 'MemberAdded', member: t.publicKey, role }) as GroupOp),
    fc.constant((t: KeyPair) => ({ kind: 'MemberRemoved', member: t.publicKey }) as GroupOp),
    fc.constant(() => ({ kind: 'MemberLeft' }) as GroupOp),
    fc.constantFrom(...ROLES).map((role) => (t: KeyPair) => ({ kind: 'RoleSet', member: t.publicKey, role }) as GroupOp),
    fc.integer({ min: 0, max: 31 }).map((capabilities) => (t: KeyPair) => ({ kind: 'CapabilitiesSet', member: t.publicKey, capabilities }) as GroupOp),
    fc.integer({ min: 0, max: 31 }).map((capabilities) => () => ({ kind: 'DefaultCapabilitiesSet', capabilities }) as GroupOp),
    fc.constantFrom('x', 'y', 'z').map((alias) => () => ({ kind: 'GroupAliasSet', alias }) as GroupOp),
    fc.constantFrom('p', 'q').map((alias) => (t: KeyPair) => ({ kind: 'MemberAliasSet', member: t.publicKey, alias }) as GroupOp),
    fc.constantFrom(0, 1).map((i) => () => ({ kind: 'ContextRegistered', contextId: ctxIds[i]!, application: app }) as GroupOp),
    fc.constantFrom(0, 1).map((i) => () => ({ kind: 'ContextJoined', contextId: ctxIds[i]! }) as GroupOp),
    fc.constantFrom(0, 1).map((i) => () => ({ kind: 'ContextVisibilitySet', contextId: ctxIds[i]!, visibility: 'restricted' }) as GroupOp),
    fc.constant((t: KeyPair) => ({ kind: 'OwnershipTransferred', newOwner: t.publicKey }) as GroupOp),
    // the invitation's signer is the target; claimed by whoever authors the op, expired or not
    fc
      .tuple(fc.constantFrom(...ROLES), fc.integer({ min: -60_000, max: 60_000 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
      .map(([role, expiresIn, salt]) => (t: KeyPair) => ({ kind: 'InvitationClaimed', invitation: createInvitation(t, groupId, role, T0 + expiresIn, undefined, Buffer.from(salt)), joinedAt: BigInt(T0) }) as GroupOp),
  )

/**
 * `again`: the author signs another op with the seq and the parents of its previous one, as a
 * node restored from a backup would: an equivocation, concurrent with the op it duplicates.
 */
type Step = { kind: 'author'; who: number; target: number; again: boolean; make: (t: KeyPair) => GroupOp } | { kind: 'sync'; from: number; to: number }

function stepsArb(groupId: Buffer): fc.Arbitrary<Step[]> {
  const again = fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })
  const author = fc.record({ kind: fc.constant('author' as const), who: fc.integer({ min: 0, max: 3 }), target: fc.integer({ min: 0, max: 3 }), again, make: opArb(groupId) })
  const sync = fc.record({ kind: fc.constant('sync' as const), from: fc.integer({ min: 0, max: 3 }), to: fc.integer({ min: 0, max: 3 }) })
  return fc.array(fc.oneof({ weight: 3, arbitrary: author }, { weight: 1, arbitrary: sync }), { minLength: 1, maxLength: 24 })
}

function fingerprint(store: GroupStore, groupId: Buffer) {
  const v = viewOf(store, groupId)
  // equivocations are listed in the order a replica found them: compared as a set
  const equivocations = v.equivocations.map((e) => `${e.signer}/${e.seq}/${[...e.opIds].sort().join(',')}`).sort()
  return { stateHash: v.stateHash, owner: v.owner, members: v.members.map((m) => [m.identity, m.role, m.capabilities, m.alias]), contexts: v.contexts, alias: v.alias, heads: v.heads, ops: v.opCount, equivocations }
}

describe('governance convergence (property)', () => {
  it('any delivery order of the same ops gives the same state', () => {
    const owner = people[0]!
    const origin = new GroupStore()
    // the genesis with a fixed salt (createGroup draws a random one): the same group id every run
    const genesis = signOp({ groupId: Buffer.alloc(32), parents: [], seq: 1n, op: { kind: 'GroupCreated', defaultCapabilities: DEFAULT_CAPABILITIES, defaultVisibility: 'open', salt: Buffer.alloc(32, 0x5a) } }, owner)
    origin.ingest([genesis.bytes])
    const groupId = genesis.id
    const gid = groupId
    // owner adds people 1 as admin and 2 as member, so that there is something to fight over
    const seeds = [genesis, origin.issue(groupId, owner, { kind: 'MemberAdded', member: people[1]!.publicKey, role: 'admin' }), origin.issue(groupId, owner, { kind: 'MemberAdded', member: people[2]!.publicKey, role: 'member' })]

    const seen = { rejected: 0, concurrent: 0, equivocations: 0, claims: 0 }
    fc.assert(
      fc.property(stepsArb(gid), fc.array(fc.integer(), { minLength: 3, maxLength: 3 }), (steps, orders) => {
        const authors = people.map(() => new GroupStore())
        for (const a of authors) a.ingest(seeds.map((s) => s.bytes))
        const all: Buffer[] = seeds.map((s) => s.bytes)
        // the seq each signer used last (the owner signed the three seeds), and on which parents
        const seqs = people.map((_, i) => (i === 0 ? 3n : 0n))
        const lastParents: (Buffer[] | undefined)[] = people.map(() => undefined)
        for (const step of steps) {
          if (step.kind === 'sync') {
            const src = authors[step.from]!
            authors[step.to]!.ingest(src.getOps(groupId, src.ops(groupId).map((o) => o.opId)))
            continue
          }
          const me = people[step.who]!
          const replica = authors[step.who]!
          const twin = step.again ? lastParents[step.who] : undefined
          const heads = twin ?? replica.heads(groupId)
          const seq = twin ? seqs[step.who]! : ++seqs[step.who]!
          lastParents[step.who] = heads
          const signed = raw(groupId, me, heads, seq, step.make(people[step.target]!))
          replica.ingest([signed.bytes])
          all.push(signed.bytes)
        }
        // duplicates on the way
        const delivery = [...all, ...all.slice(0, 3)]
        const replicas = orders.map((seed) => {
          const r = new GroupStore()
          r.ingest(shuffle(delivery, seed))
          return r
        })
        const prints = replicas.map((r) => fingerprint(r, groupId))
        for (const p of prints.slice(1)) expect(p).toEqual(prints[0])
        const ops = opsOf(replicas[0]!, groupId)
        expect(new Set(ops.map((o) => o.opId)).size).toBe(new Set(all.map((b) => b.toString('hex'))).size)
        if (ops.some((o) => o.status === 'rejected')) seen.rejected++
        if (replicas[0]!.heads(groupId).length > 1) seen.concurrent++
        if (prints[0]!.equivocations.length > 0) seen.equivocations++
        if (ops.some((o) => o.kind === 'InvitationClaimed' && o.status === 'applied')) seen.claims++
      }),
      { numRuns: 1000 },
    )
    // the generator really exercised rejections, concurrent branches, equivocations and claims
    expect(seen.rejected).toBeGreaterThan(100)
    expect(seen.concurrent).toBeGreaterThan(50)
    expect(seen.equivocations).toBeGreaterThan(100)
    expect(seen.claims).toBeGreaterThan(5)
  }, 60_000)
})
