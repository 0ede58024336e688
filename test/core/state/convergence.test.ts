import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../../src/core/store/store.js'
import { ContextState } from '../../../src/core/state/context-state.js'
import type { StateSession } from '../../../src/core/state/session.js'
import { Replica, TempStores } from './helpers.js'

const MAPS = ['m0', 'm1']
const SETS = ['s0']
const COUNTERS = ['c0', 'c1']
const VECTORS = ['v0']
const KEYS = ['a', 'b', 'c', 'd'].map((k) => Buffer.from(k))

type Op =
  | { t: 'mapInsert'; m: number; k: number; v: number }
  | { t: 'mapRemove'; m: number; k: number }
  | { t: 'mapClear'; m: number }
  | { t: 'setAdd'; k: number }
  | { t: 'setRemove'; k: number }
  | { t: 'counter'; c: number; d: number }
  | { t: 'push'; v: number }
  | { t: 'pop' }
  | { t: 'vset'; i: number; v: number }
  | { t: 'write'; k: number; v: number }
  | { t: 'remove'; k: number }

const key = fc.integer({ min: 0, max: KEYS.length - 1 })
const val = fc.integer({ min: 0, max: 9 })
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('mapInsert' as const), m: fc.integer({ min: 0, max: 1 }), k: key, v: val }),
  fc.record({ t: fc.constant('mapRemove' as const), m: fc.integer({ min: 0, max: 1 }), k: key }),
  fc.record({ t: fc.constant('mapClear' as const), m: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ t: fc.constant('setAdd' as const), k: key }),
  fc.record({ t: fc.constant('setRemove' as const), k: key }),
  fc.record({ t: fc.constant('counter' as const), c: fc.integer({ min: 0, max: 1 }), d: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ t: fc.constant('push' as const), v: val }),
  fc.record({ t: fc.constant('pop' as const) }),
  fc.record({ t: fc.constant('vset' as const), i: fc.nat(5), v: val }),
  fc.record({ t: fc.constant('write' as const), k: key, v: val }),
  fc.record({ t: fc.constant('remove' as const), k: key }),
)

/** A step: a replica runs one execution, or pulls every delta another replica authored so far. */
type Step = { kind: 'exec'; r: number; ops: Op[] } | { kind: 'pull'; r: number; from: number }
const REPLICAS = 3
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('exec' as const), r: fc.integer({ min: 0, max: REPLICAS - 1 }), ops: fc.array(op, { minLength: 1, maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pull' as const), r: fc.integer({ min: 0, max: REPLICAS - 1 }), from: fc.integer({ min: 0, max: REPLICAS - 1 }) }) },
)

function run(s: StateSession, o: Op): void {
  const v = (n: number) => Buffer.from(`v${n}`)
  switch (o.t) {
    case 'mapInsert': s.mapInsert(MAPS[o.m]!, KEYS[o.k]!, v(o.v)); break
    case 'mapRemove': s.mapRemove(MAPS[o.m]!, KEYS[o.k]!); break
    case 'mapClear': s.mapClear(MAPS[o.m]!); break
    case 'setAdd': s.setAdd(SETS[0]!, KEYS[o.k]!); break
    case 'setRemove': s.setRemove(SETS[0]!, KEYS[o.k]!); break
    case 'counter': s.counterAdd(COUNTERS[o.c]!, BigInt(o.d)); break
    case 'push': s.vectorPush(VECTORS[0]!, v(o.v)); break
    case 'pop': s.vectorPop(VECTORS[0]!); break
    case 'vset': {
      const n = s.vectorLen(VECTORS[0]!)
      if (n > 0) s.vectorSet(VECTORS[0]!, o.i % n, v(o.v))
      break
    }
    case 'write': s.write(KEYS[o.k]!, v(o.v)); break
    case 'remove': s.remove(KEYS[o.k]!); break
  }
}

const view = (r: Replica) => r.view(MAPS, SETS, COUNTERS, VECTORS, KEYS)

describe('convergence (property)', () => {
  const stores = new TempStores()
  let pool: Store[] = []
  let ctxSeq = 0
  beforeAll(async () => {
    // One RocksDB per replica, shared by every run: each run uses a fresh context id.
    pool = []
    for (let i = 0; i < REPLICAS + 2; i++) pool.push((await stores.store()).store)
  })
  afterAll(() => stores.cleanup())

  it('replicas that exchange every delta, in any order and with duplicates, agree on root hash and contents', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 14 }), fc.infiniteStream(fc.nat()), (steps, randoms) => {
        const ctx = Buffer.alloc(32)
        ctx.writeUInt32BE(++ctxSeq, 0)
        let fakeNow = 1_700_000_000_000
        const now = () => fakeNow
        const replicas = Array.from({ length: REPLICAS }, (_, i) => new Replica(pool[i]!, Buffer.alloc(32, i + 1), now, ctx))
        const delivered = replicas.map(() => new Set<string>())
        const rnd = randoms[Symbol.iterator]()
        const next = () => rnd.next().value as number

        for (const st of steps) {
          fakeNow += next() % 3 // clocks that stand still exercise the logical counter
          const r = replicas[st.r]!
          if (st.kind === 'exec') {
            r.exec((s) => st.ops.forEach((o) => run(s, o)))
          } else if (st.from !== st.r) {
            for (const d of replicas[st.from]!.authored) {
              const id = d.toString('base64')
              if (delivered[st.r]!.has(id)) continue
              delivered[st.r]!.add(id)
              r.receive(d)
            }
          }
        }

        // Deliver everything to everyone (own deltas too), shuffled, with duplicates.
        const all = replicas.flatMap((r) => r.authored)
        const observers = [...replicas, new Replica(pool[REPLICAS]!, Buffer.alloc(32, 9), now, ctx)]
        for (const r of observers) {
          const order = [...all, ...all.filter(() => next() % 4 === 0)]
          for (let i = order.length - 1; i > 0; i--) {
            const j = next() % (i + 1)
            ;[order[i], order[j]] = [order[j]!, order[i]!]
          }
          for (const d of order) r.receive(d)
        }

        const hashes = observers.map((r) => r.state.rootHash().toString('hex'))
        const views = observers.map(view)
        for (let i = 1; i < observers.length; i++) {
          expect(hashes[i]).toBe(hashes[0])
          expect(views[i]).toEqual(views[0])
        }

        // A fresh node that imports replica 0's snapshot, page by page, has the same state.
        const fresh = new ContextState(pool[REPLICAS + 1]!, ctx)
        let after: Buffer | undefined
        for (let guard = 0; guard < 1000; guard++) {
          const page = replicas[0]!.state.exportSnapshot({ after, limit: 3 })
          const batch = pool[REPLICAS + 1]!.batch()
          fresh.importRecords(page.records, batch)
          batch.write()
          if (!page.next) break
          after = page.next
        }
        expect(fresh.rootHash().toString('hex')).toBe(hashes[0])
      }),
      { numRuns: 120 },
    )
  }, 120_000)
})

describe('savepoints (property)', () => {
  const stores = new TempStores()
  let pool: Store[] = []
  let ctxSeq = 0
  beforeAll(async () => {
    pool = [(await stores.store()).store, (await stores.store()).store]
  })
  afterAll(() => stores.cleanup())

  it('a rolled-back run of writes leaves the session as if it never ran: same actions, root hash and contents', () => {
    const ops = fc.array(op, { maxLength: 8 })
    fc.assert(
      fc.property(ops, ops, ops, ops, (before, kept, undone, after) => {
        const ctx = Buffer.alloc(32)
        ctx.writeUInt32BE(++ctxSeq, 0)
        const now = () => 1_700_000_000_000
        // the same node on two stores: one session takes `undone` back, the other never runs it
        const [x, y] = pool.map((store) => new Replica(store, Buffer.alloc(32, 1), now, ctx))
        const results = [x!, y!].map((r, i) => {
          r.exec((s) => before.forEach((o) => run(s, o)))
          const s = r.state.begin(r.node, r.clock)
          kept.forEach((o) => run(s, o))
          if (i === 0) {
            const mark = s.savepoint()
            undone.forEach((o) => run(s, o))
            s.rollbackTo(mark)
            expect(s.wroteSince(mark)).toBe(false)
          }
          after.forEach((o) => run(s, o))
          const res = s.finish()
          const batch = r.store.batch()
          const root = s.commitInto(batch)
          batch.write()
          return { actions: res.actions, root: root.toString('hex'), view: view(r) }
        })
        expect(results[0]).toEqual(results[1])
      }),
      { numRuns: 300 },
    )
  }, 60_000)
})
