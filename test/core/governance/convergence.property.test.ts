import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { KeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { createInvitation } from '../../../src/core/governance/invitation.js'
import { ROLES, type GroupOp } from '../../../src/core/governance/ops.js'
import { keys, raw } from './helpers.js'

/**
 * Convergence (DESIGN §6): several identities author random histories on their own replicas,
 * exchanging ops now and then (so branches are concurrent), including ops their authors are not
 * allowed to issue and duplicates; delivering all ops to fresh replicas in random orders gives
 * identical state hashes and identical member, role and capability views.
 */
const people: KeyPair[] = [keys.owner, keys.a, keys.b, keys.c]
const ctxIds = [Buffer.alloc(32, 0xc1), Buffer.alloc(32, 0xc2)]
const app = Buffer.alloc(32, 0xa1)

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
    fc.constantFrom(...ROLES).map((role) => (t: KeyPair) => ({ kind: 'InvitationClaimed', invitation: createInvitation(t, groupId, role, Date.now() + 60_000), joinedAt: BigInt(Date.now()) }) as GroupOp),
  )

type Step = { kind: 'author'; who: number; target: number; make: (t: KeyPair) => GroupOp } | { kind: 'sync'; from: number; to: number }

function stepsArb(groupId: Buffer): fc.Arbitrary<Step[]> {
  const author = fc.record({ kind: fc.constant('author' as const), who: fc.integer({ min: 0, max: 3 }), target: fc.integer({ min: 0, max: 3 }), make: opArb(groupId) })
  const sync = fc.record({ kind: fc.constant('sync' as const), from: fc.integer({ min: 0, max: 3 }), to: fc.integer({ min: 0, max: 3 }) })
  return fc.array(fc.oneof({ weight: 3, arbitrary: author }, { weight: 1, arbitrary: sync }), { minLength: 1, maxLength: 24 })
}

function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice()
  let s = seed >>> 0 || 1
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1664525 + 1013904223) >>> 0
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function fingerprint(store: GroupStore, groupId: string) {
  const v = store.view(groupId)
  return { stateHash: v.stateHash, owner: v.owner, members: v.members.map((m) => [m.identity, m.role, m.capabilities, m.alias]), contexts: v.contexts, alias: v.alias, heads: v.heads, ops: v.opCount }
}

describe('governance convergence (property)', () => {
  it('any delivery order of the same ops gives the same state', () => {
    const origin = new GroupStore()
    const { groupId, op: genesis } = origin.createGroup(keys.owner)
    const gid = Buffer.from(groupId, 'hex')
    // owner adds a as admin and b as member, so that there is something to fight over
    const seeds = [genesis, origin.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'admin' }), origin.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.b.publicKey, role: 'member' })]

    let rejectedSeen = 0
    let concurrentSeen = 0
    fc.assert(
      fc.property(stepsArb(gid), fc.array(fc.integer(), { minLength: 3, maxLength: 3 }), (steps, orders) => {
        const authors = people.map(() => new GroupStore())
        for (const a of authors) a.ingest(seeds.map((s) => s.bytes))
        const all: Buffer[] = seeds.map((s) => s.bytes)
        const seqs = people.map(() => 1n)
        for (const step of steps) {
          if (step.kind === 'sync') {
            const src = authors[step.from]!
            authors[step.to]!.ingest(src.getOps(groupId, src.ops(groupId).map((o) => o.opId)))
            continue
          }
          const me = people[step.who]!
          const replica = authors[step.who]!
          const heads = replica.heads(groupId).map((h) => Buffer.from(h, 'hex'))
          const signed = raw(groupId, me, heads, ++seqs[step.who]!, step.make(people[step.target]!))
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
        const ops = replicas[0]!.ops(groupId)
        expect(ops).toHaveLength(all.length)
        if (ops.some((o) => o.status === 'rejected')) rejectedSeen++
        if (replicas[0]!.heads(groupId).length > 1) concurrentSeen++
      }),
      { numRuns: 1000 },
    )
    // the generator really exercised rejections and concurrent branches
    expect(rejectedSeen).toBeGreaterThan(100)
    expect(concurrentSeen).toBeGreaterThan(50)
  }, 60_000)
})
