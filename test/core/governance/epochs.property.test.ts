import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyPairFromSeed, type KeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { KeyRing } from '../../../src/core/governance/keyring.js'
import type { GroupOp } from '../../../src/core/governance/ops.js'
import { GROUP_SCOPE, keyIdOf } from '../../../src/core/governance/rotation.js'
import { shuffle } from './helpers.js'

/**
 * Key epochs converge (DESIGN §6): five identities (the owner, an admin, three members, all joined
 * to one context) author removals, leaves, allowlist and visibility changes and explicit
 * rotations on their own replicas, exchanging ops now and then, so that rotations are concurrent.
 * Delivering every op, in a different random order, to a fresh replica of each identity (with
 * its own keyring, opening the envelopes addressed to it) gives every replica the same epoch and
 * frontier of each scope; every identity that may still read a scope holds its key (the same key
 * id everywhere; one that regained reading without a rotation fetches it from a peer) unless the
 * scope awaits a rotation; and no identity that may not read it derives the key.
 */
const people: KeyPair[] = [1, 2, 3, 4, 5].map((n) => keyPairFromSeed(Buffer.alloc(32, 0x40 + n)))
const hex = (b: Buffer) => b.toString('hex')
const ctx = Buffer.alloc(32, 0xc7)
const CTX = hex(ctx)

type Step = { kind: 'author'; who: number; target: number; make: number } | { kind: 'sync'; from: number; to: number }

/** The ops the generator picks from (index `make`), for a target identity. */
const MAKERS: ((t: KeyPair) => { op: GroupOp; rotate?: string[] })[] = [
  (t) => ({ op: { kind: 'MemberRemoved', member: t.publicKey } }),
  () => ({ op: { kind: 'MemberLeft' } }),
  () => ({ op: { kind: 'KeyRotated' }, rotate: [GROUP_SCOPE] }),
  () => ({ op: { kind: 'KeyRotated' }, rotate: [CTX] }),
  () => ({ op: { kind: 'ContextVisibilitySet', contextId: ctx, visibility: 'restricted' } }),
  () => ({ op: { kind: 'ContextVisibilitySet', contextId: ctx, visibility: 'open' } }),
  (t) => ({ op: { kind: 'ContextAllowlistSet', contextId: ctx, add: [t.publicKey], remove: [] } }),
  (t) => ({ op: { kind: 'ContextAllowlistSet', contextId: ctx, add: [], remove: [t.publicKey] } }),
  () => ({ op: { kind: 'ContextLeft', contextId: ctx } }),
]

const stepsArb: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('author' as const), who: fc.integer({ min: 0, max: 4 }), target: fc.integer({ min: 1, max: 4 }), make: fc.integer({ min: 0, max: MAKERS.length - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: fc.integer({ min: 0, max: 4 }), to: fc.integer({ min: 0, max: 4 }) }) },
  ),
  { minLength: 1, maxLength: 16 },
)

const replicaOf = (k: KeyPair) => new GroupStore(undefined, new KeyRing(k))

describe('key epochs (property)', () => {
  it('any delivery order of ops with rotations gives every member the same epoch and key id', () => {
    // the seeds: a group of five, a context all five joined, and a rotation of both keys to all
    const origin = replicaOf(people[0]!)
    const { groupId } = origin.createGroup(people[0]!)
    origin.issue(groupId, people[0]!, { kind: 'MemberAdded', member: people[1]!.publicKey, role: 'admin' })
    for (const p of people.slice(2)) origin.issue(groupId, people[0]!, { kind: 'MemberAdded', member: p.publicKey, role: 'member' })
    origin.issue(groupId, people[0]!, { kind: 'ContextRegistered', contextId: ctx, application: Buffer.alloc(32, 0xa1) })
    for (const p of people.slice(1)) origin.issue(groupId, p, { kind: 'ContextJoined', contextId: ctx })
    origin.issue(groupId, people[0]!, { kind: 'KeyRotated' }, { rotate: [GROUP_SCOPE, CTX] })
    const seeds = origin.getOps(groupId, origin.ops(groupId).map((o) => o.opId))

    const seen = { concurrent: 0, rotations: 0, refusedReaders: 0, fetched: 0 }
    fc.assert(
      fc.property(stepsArb, fc.array(fc.integer(), { minLength: 5, maxLength: 5 }), (steps, orders) => {
        const authors = people.map(replicaOf)
        for (const a of authors) a.ingest(seeds)
        for (const step of steps) {
          if (step.kind === 'sync') {
            const src = authors[step.from]!
            authors[step.to]!.ingest(src.getOps(groupId, src.ops(groupId).map((o) => o.opId)))
            continue
          }
          const { op, rotate } = MAKERS[step.make]!(people[step.target]!)
          try {
            authors[step.who]!.issue(groupId, people[step.who]!, op, rotate ? { rotate } : {})
          } catch {
            // refused at its author (not allowed, or nothing to rotate): never authored
          }
        }
        const all = new Map<string, Buffer>()
        for (const a of authors) for (const b of a.getOps(groupId, a.ops(groupId).map((o) => o.opId))) all.set(b.toString('hex'), b)
        // each identity's fresh replica receives every op in its own order
        const replicas = people.map((p, i) => {
          const r = replicaOf(p)
          r.ingest(shuffle([...all.values()], orders[i]!))
          return r
        })
        for (const scope of [GROUP_SCOPE, CTX]) {
          const epochs = replicas.map((r) => {
            const e = r.epochAt(groupId, scope)!
            return { epoch: e.epoch, stale: e.stale, frontier: e.frontier.map((f) => [f.idHex, hex(f.keyId)]) }
          })
          for (const e of epochs.slice(1)) expect(e).toEqual(epochs[0])
          if (epochs[0]!.frontier.length > 1) seen.concurrent++
          seen.rotations += epochs[0]!.frontier.length
          const reads = people.map((p) => (scope === GROUP_SCOPE ? replicas[0]!.isMember(groupId, p.publicKey) : replicas[0]!.whyNotReader(groupId, ctx, p.publicKey) === undefined))
          // a reader no envelope reached (it regained reading without a rotation) fetches the
          // epoch's keys from a peer that holds them, as KeyKeeper does over the sync stream
          const holder = replicas.find((r) => r.keyAt(groupId, scope).status === 'ok')
          replicas.forEach((r, i) => {
            if (!reads[i] || r.keyAt(groupId, scope).status !== 'missing') return
            seen.fetched++
            if (holder) r.acceptKeys(groupId, scope, holder.keysToShare(groupId, scope))
          })
          const keys = replicas.map((r) => r.keyAt(groupId, scope))
          const ids = keys.map((k) => (k.status === 'ok' ? hex(k.keyId) : k.status))
          const readerIds = new Set(ids.filter((_, i) => reads[i]))
          if (!epochs[0]!.stale) {
            // every reader holds the epoch's key, the same one
            expect([...readerIds], `readers of ${scope}: ${ids.join(' ')}`).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)])
            // and nobody who may not read it derives it
            ids.forEach((id, i) => {
              if (reads[i]) return
              seen.refusedReaders++
              expect(readerIds.has(id), `${scope}: identity ${i} may not read it and derives its key`).toBe(false)
              // nor is it any single key this identity was ever given
              const given = replicas[i]!.keys!.held().map((k) => hex(keyIdOf(k.key)))
              expect(given.filter((g) => readerIds.has(g)), `${scope}: identity ${i} may not read it and was given its key`).toEqual([])
            })
          } else {
            expect(keys.every((k) => k.status === 'stale')).toBe(true)
          }
        }
      }),
      { numRuns: 500 },
    )
    // the generator really made concurrent rotations meet, and identities lose reading
    expect(seen.concurrent).toBeGreaterThan(50)
    expect(seen.refusedReaders).toBeGreaterThan(100)
  }, 120_000)
})
