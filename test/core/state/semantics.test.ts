import { afterEach, describe, expect, it } from 'vitest'
import { Store } from '../../../src/core/store/store.js'
import { ContextState } from '../../../src/core/state/context-state.js'
import { decodeEntity, encodeEntity, EMPTY_ROOT_HASH } from '../../../src/core/state/entity.js'
import { collectionId, CollectionKind, ROOT_ID } from '../../../src/core/state/ids.js'
import { decodeDelta, encodeDelta } from '../../../src/core/state/actions.js'
import { CTX, Replica, TempStores } from './helpers.js'

const stores = new TempStores()
afterEach(() => stores.cleanup())

const b = (s: string) => Buffer.from(s)
const str = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString())

/** Two replicas on separate stores, with controllable wall clocks. */
async function pair(clockA = () => 1_000_000, clockB = () => 1_000_000) {
  const a = new Replica((await stores.store()).store, Buffer.alloc(32, 1), clockA)
  const c = new Replica((await stores.store()).store, Buffer.alloc(32, 2), clockB)
  return [a, c] as const
}

function exchange(x: Replica, y: Replica): void {
  for (const d of x.authored) y.receive(d)
  for (const d of y.authored) x.receive(d)
}

describe('last-writer-wins registers (storage_*)', () => {
  it('concurrent writes: the higher HLC wins, then the higher node id', async () => {
    const [a, c] = await pair(() => 2000, () => 1000)
    a.exec((s) => s.write(b('k'), b('from-a')))
    c.exec((s) => s.write(b('k'), b('from-b')))
    exchange(a, c)
    expect(str(a.state.begin(a.node, a.clock).read(b('k')))).toBe('from-a')
    expect(a.state.rootHash()).toEqual(c.state.rootHash())

    const [x, y] = await pair()
    x.exec((s) => s.write(b('k'), b('from-1')))
    y.exec((s) => s.write(b('k'), b('from-2')))
    exchange(x, y)
    // Same wall time and counter: node 0x02.. beats node 0x01..
    expect(str(x.state.begin(x.node, x.clock).read(b('k')))).toBe('from-2')
    expect(str(y.state.begin(y.node, y.clock).read(b('k')))).toBe('from-2')
  })

  it('write returns the previous value; remove returns it and clears the key', async () => {
    const [a] = await pair()
    a.exec((s) => {
      expect(s.write(b('k'), b('1'))).toBeUndefined()
      expect(str(s.write(b('k'), b('2')))).toBe('1')
    })
    a.exec((s) => {
      expect(str(s.remove(b('k')))).toBe('2')
      expect(s.remove(b('k'))).toBeUndefined()
      expect(s.read(b('k'))).toBeUndefined()
    })
    expect(a.state.begin(a.node, a.clock).read(b('k'))).toBeUndefined()
    expect(a.state.rootHash()).toEqual(EMPTY_ROOT_HASH)
  })
})

describe('maps', () => {
  it('add wins against a concurrent delete; a delete that saw the write wins', async () => {
    const [a, c] = await pair()
    a.exec((s) => s.mapInsert('m', b('k'), b('v1')))
    exchange(a, c)
    a.exec((s) => s.mapRemove('m', b('k')))
    c.exec((s) => s.mapInsert('m', b('k'), b('v2'))) // concurrent with the removal
    exchange(a, c)
    for (const r of [a, c]) expect(str(r.state.begin(r.node, r.clock).mapGet('m', b('k')))).toBe('v2')
    // Now a removal that observed v2 removes it everywhere.
    a.exec((s) => expect(str(s.mapRemove('m', b('k')))).toBe('v2'))
    exchange(a, c)
    for (const r of [a, c]) expect(r.state.begin(r.node, r.clock).mapContains('m', b('k'))).toBe(false)
    expect(a.state.rootHash()).toEqual(c.state.rootHash())
  })

  it('enumerates live entries by key bytes, sees its own writes, and counts them', async () => {
    const [a] = await pair()
    a.exec((s) => {
      for (const k of ['b', 'a', 'ab', '\x00', 'c']) s.mapInsert('m', b(k), b(k.toUpperCase()))
    })
    a.exec((s) => {
      s.mapRemove('m', b('b'))
      s.mapInsert('m', b('aa'), b('AA'))
      s.mapInsert('m', b('a'), b('A2'))
      expect(s.mapEntries('m').map(([k, v]) => [Buffer.from(k).toString(), str(v)])).toEqual([
        ['\x00', '\x00'],
        ['a', 'A2'],
        ['aa', 'AA'],
        ['ab', 'AB'],
        ['c', 'C'],
      ])
      expect(s.mapLen('m')).toBe(5)
      expect(s.mapClear('m')).toBe(5)
      expect(s.mapLen('m')).toBe(0)
      expect(s.mapEntries('m')).toEqual([])
      s.mapInsert('m', b('z'), b('Z'))
    })
    const s = a.state.begin(a.node, a.clock)
    expect(s.mapEntries('m').map(([k]) => Buffer.from(k).toString())).toEqual(['z'])
    expect(s.mapLen('m')).toBe(1)
    // Collections of different kinds with one name are different entities.
    expect(s.setLen('m')).toBe(0)
  })
})

describe('sets', () => {
  it('add, remove, contains, values in byte order; add wins against a concurrent remove', async () => {
    const [a, c] = await pair()
    a.exec((s) => {
      expect(s.setAdd('s', b('y'))).toBe(true)
      expect(s.setAdd('s', b('x'))).toBe(true)
      expect(s.setAdd('s', b('x'))).toBe(false)
    })
    exchange(a, c)
    a.exec((s) => expect(s.setRemove('s', b('x'))).toBe(true))
    c.exec((s) => {
      expect(s.setRemove('s', b('x'))).toBe(true)
      expect(s.setAdd('s', b('x'))).toBe(true) // re-added: a new stamp the other side never saw
    })
    exchange(a, c)
    for (const r of [a, c]) {
      const s = r.state.begin(r.node, r.clock)
      expect(s.setValues('s').map(str)).toEqual(['x', 'y'])
      expect(s.setContains('s', b('x'))).toBe(true)
      expect(s.setLen('s')).toBe(2)
    }
  })
})

describe('counters', () => {
  it('sums per-node grow and shrink counts; duplicates count once', async () => {
    const [a, c] = await pair()
    a.exec((s) => expect(s.counterAdd('n', 5n)).toBe(5n))
    c.exec((s) => {
      expect(s.counterAdd('n', 3n)).toBe(3n)
      expect(s.counterAdd('n', -10n)).toBe(-7n)
    })
    exchange(a, c)
    exchange(a, c)
    for (const r of [a, c]) expect(r.state.begin(r.node, r.clock).counterValue('n')).toBe(-2n)
    a.exec((s) => expect(s.counterAdd('n', 1n)).toBe(-1n))
    c.receive(a.authored[1]!)
    c.receive(a.authored[0]!) // old totals arrive late: max per node ignores them
    expect(c.state.begin(c.node, c.clock).counterValue('n')).toBe(-1n)
    expect(a.state.rootHash()).toEqual(c.state.rootHash())
    expect(() => a.exec((s) => s.counterAdd('n', 1n << 64n))).toThrow(/2\^64/)
  })
})

describe('vectors', () => {
  it('push, get, set, pop; concurrent pushes keep both, in one order everywhere', async () => {
    const [a, c] = await pair()
    a.exec((s) => {
      expect(s.vectorPush('v', b('a0'))).toBe(1)
      expect(s.vectorPush('v', b('a1'))).toBe(2)
      expect(str(s.vectorGet('v', 1))).toBe('a1')
      expect(str(s.vectorSet('v', 0, b('A0')))).toBe('a0')
    })
    exchange(a, c)
    a.exec((s) => s.vectorPush('v', b('a2')))
    c.exec((s) => {
      s.vectorPush('v', b('c2'))
      expect(str(s.vectorPop('v'))).toBe('c2')
      s.vectorPush('v', b('c3'))
      expect(s.vectorLen('v')).toBe(3)
    })
    exchange(a, c)
    const lists = [a, c].map((r) => {
      const s = r.state.begin(r.node, r.clock)
      return Array.from({ length: s.vectorLen('v') }, (_, i) => str(s.vectorGet('v', i)))
    })
    expect(lists[0]).toEqual(lists[1])
    expect(lists[0]!.slice(0, 2)).toEqual(['A0', 'a1'])
    expect([...lists[0]!.slice(2)].sort()).toEqual(['a2', 'c3'])
    a.exec((s) => {
      expect(s.vectorPop('v')).toBeDefined()
      expect(s.vectorPop('v')).toBeDefined()
      expect(s.vectorPop('v')).toBeDefined()
      expect(s.vectorPop('v')).toBeDefined()
      expect(s.vectorPop('v')).toBeUndefined()
      expect(s.vectorLen('v')).toBe(0)
    })
    exchange(a, c)
    expect(c.state.begin(c.node, c.clock).vectorLen('v')).toBe(0)
    expect(a.state.rootHash()).toEqual(c.state.rootHash())
  })
})

describe('sessions', () => {
  it('a dropped session writes nothing; rootHash() mid-execution is the hash that gets committed', async () => {
    const [a] = await pair()
    a.exec((s) => s.mapInsert('m', b('k'), b('v')))
    const before = a.state.rootHash()
    const dropped = a.state.begin(a.node, a.clock)
    dropped.mapInsert('m', b('k'), b('other'))
    dropped.counterAdd('c', 3n)
    expect(dropped.rootHash()).not.toEqual(before)
    expect(a.state.rootHash()).toEqual(before)
    expect(str(a.state.begin(a.node, a.clock).mapGet('m', b('k')))).toBe('v')

    const s = a.state.begin(a.node, a.clock)
    s.mapInsert('m', b('k2'), b('v2'))
    const mid = Buffer.from(s.rootHash())
    const res = s.finish()
    expect(res.rootHash).toEqual(mid)
    const batch = a.store.batch()
    expect(s.commitInto(batch)).toEqual(mid)
    batch.write()
    expect(a.state.rootHash()).toEqual(mid)
    expect(res.actions).toHaveLength(1)
  })

  it('a read-only execution produces no actions and the same hash', async () => {
    const [a] = await pair()
    a.exec((s) => s.write(b('k'), b('v')))
    const s = a.state.begin(a.node, a.clock)
    s.read(b('k'))
    s.mapEntries('m')
    const res = s.finish()
    expect(res.actions).toEqual([])
    expect(res.hlc).toBeUndefined()
    expect(res.rootHash).toEqual(a.state.rootHash())
  })

  it('a commit that lands after another commit is merged on top of it', async () => {
    const [a, c] = await pair()
    c.exec((s) => s.mapInsert('m', b('remote'), b('r')))
    const s = a.state.begin(a.node, a.clock)
    s.mapInsert('m', b('local'), b('l'))
    s.finish()
    a.receive(c.authored[0]!) // lands between finish() and commitInto()
    const batch = a.store.batch()
    s.commitInto(batch)
    batch.write()
    expect(a.state.begin(a.node, a.clock).mapLen('m')).toBe(2)
  })

  it('a commit between the reads of an execution and its finish() is merged under it, written or not at the reads', async () => {
    for (const writeBeforeReads of [true, false]) {
      const [a, c] = await pair()
      c.exec((s) => s.mapInsert('m', b('remote'), b('r')))
      const early = a.store.batch()
      a.state.applyDelta(decodeDelta(c.authored[0]!), early)
      if (writeBeforeReads) early.write()
      const s = a.state.begin(a.node, a.clock)
      s.mapInsert('m', b('local'), b('l'))
      if (writeBeforeReads) a.receive(c.exec((x) => x.counterAdd('n', 1n))!)
      else early.write()
      const res = s.finish()
      const batch = a.store.batch()
      s.commitInto(batch)
      batch.write()
      expect(a.state.begin(a.node, a.clock).mapLen('m')).toBe(2)
      c.receive(encodeDelta({ contextId: CTX, parents: [], hlc: res.hlc!, author: res.author, actions: res.actions }))
      expect(a.state.rootHash()).toEqual(c.state.rootHash())
    }
  })

  it('a delta merged again changes no row, so it writes none', async () => {
    const [a, c] = await pair()
    c.exec((s) => {
      s.mapInsert('m', b('k'), b('v'))
      s.counterAdd('n', 2n)
    })
    a.receive(c.authored[0]!)
    const root = a.state.rootHash()
    const again = a.store.batch()
    expect(a.state.applyDelta(decodeDelta(c.authored[0]!), again)).toEqual(root)
    expect(again.size).toBe(0)
  })

  it('several remote deltas merged into one batch see each other', async () => {
    const [a, c] = await pair()
    c.exec((s) => s.mapInsert('m', b('k'), b('1')))
    c.exec((s) => s.mapInsert('m', b('k'), b('2')))
    c.exec((s) => s.counterAdd('n', 4n))
    const batch = a.store.batch()
    for (const d of c.authored) a.state.applyDelta(decodeDelta(d), batch)
    batch.write()
    expect(a.state.rootHash()).toEqual(c.state.rootHash())
    expect(a.state.begin(a.node, a.clock).mapLen('m')).toBe(1)
    // The same with one hash pass for all of them, in reverse order.
    const fresh = new ContextState(a.store, Buffer.alloc(32, 5))
    const rebased = c.authored.map((d) => ({ ...decodeDelta(d), contextId: Buffer.alloc(32, 5) })).reverse()
    const batch2 = a.store.batch()
    expect(fresh.applyDeltas(rebased, batch2)).toEqual(c.state.rootHash())
    batch2.write()
    expect(fresh.rootHash()).toEqual(c.state.rootHash())
    expect(() => fresh.applyDeltas(c.authored.map((d) => decodeDelta(d)), a.store.batch())).toThrow(/another context/)
  })
})

describe('persistence, tree nodes, snapshots, tombstones', () => {
  it('survives a reopen with the same root hash and contents', async () => {
    const { store, dir } = await stores.store()
    const node = Buffer.alloc(32, 1)
    const a = new Replica(store, node)
    a.exec((s) => {
      s.mapInsert('m', b('k'), b('v'))
      s.setAdd('s', b('e'))
      s.counterAdd('c', 2n)
      s.vectorPush('v', b('x'))
      s.write(b('r'), b('w'))
    })
    const root = a.state.rootHash()
    await store.close()
    const reopened = await Store.open(`${dir}/data`)
    try {
      const again = new Replica(reopened, node)
      expect(again.state.rootHash()).toEqual(root)
      expect(again.view(['m'], ['s'], ['c'], ['v'], [b('r')])).toEqual({
        maps: [[[b('k').toString('hex'), b('v').toString('hex')]]],
        mapLens: [1],
        sets: [[b('e').toString('hex')]],
        counters: ['2'],
        vectors: [[b('x').toString('hex')]],
        storage: [b('w').toString('hex')],
      })
    } finally {
      await reopened.close()
    }
  })

  it('reads tree nodes with their children hashes, in pages', async () => {
    const [a] = await pair()
    a.exec((s) => {
      for (let i = 0; i < 5; i++) s.mapInsert('m', b(`k${i}`), b('v'))
      s.counterAdd('c', 1n)
    })
    const root = a.state.readNode(ROOT_ID)!
    expect(root.hash).toEqual(a.state.rootHash())
    const ids = root.children.map((ch) => ch.id.toString('hex')).sort()
    expect(ids).toEqual([collectionId(CollectionKind.Map, 'm'), collectionId(CollectionKind.Counter, 'c')].map((x) => x.toString('hex')).sort())
    const m = a.state.readNode(collectionId(CollectionKind.Map, 'm'), { limit: 3 })!
    expect(m.kind).toBe('collection')
    expect(m.children).toHaveLength(3)
    const rest = a.state.readNode(m.id, { after: m.nextAfter, limit: 3 })!
    expect(rest.children).toHaveLength(2)
    expect(rest.nextAfter).toBeUndefined()
    const leaf = a.state.readNode(rest.children[0]!.id)!
    expect(leaf.kind).toBe('entry')
    expect(leaf.hash).toEqual(rest.children[0]!.hash)
    expect(decodeEntity(leaf.record).key.toString()).toBe('k3')
    expect(a.state.readNode(Buffer.alloc(32, 9))).toBeUndefined()
  })

  it('refuses snapshot records whose id does not match their content', async () => {
    const [a, c] = await pair()
    a.exec((s) => s.mapInsert('m', b('k'), b('v')))
    const page = a.state.exportSnapshot()
    expect(page.records.length).toBe(2) // the collection and the entry
    const forged = page.records.map((r) => decodeEntity(r)).find((e) => e.kind === 3)!
    forged.key = b('other')
    expect(() => c.state.importRecords([encodeEntity(forged)], c.store.batch())).toThrow(/does not match/)
    expect(() => c.state.importRecords([Buffer.from([1, 2, 3])], c.store.batch())).toThrow(/snapshot record/)
    expect(c.state.rootHash()).toEqual(EMPTY_ROOT_HASH)
  })

  it('collects tombstones older than the cutoff without changing the root hash', async () => {
    let wall = 1_000_000
    const [a] = await pair(() => wall)
    a.exec((s) => {
      s.mapInsert('m', b('old'), b('1'))
      s.mapInsert('m', b('new'), b('2'))
      s.mapInsert('m', b('live'), b('3'))
    })
    a.exec((s) => s.mapRemove('m', b('old')))
    wall += 60_000
    a.exec((s) => s.mapRemove('m', b('new')))
    const root = a.state.rootHash()
    const count = () => a.store.scanPrefix('state', CTX).length
    const before = count()
    const batch = a.store.batch()
    expect(a.state.collectTombstones(1_000_000 + 30_000, batch)).toBe(1)
    batch.write()
    expect(count()).toBe(before - 1)
    expect(a.state.rootHash()).toEqual(root)
    const batch2 = a.store.batch()
    expect(a.state.collectTombstones(wall + 1, batch2)).toBe(1)
    batch2.write()
    expect(a.state.rootHash()).toEqual(root)
    expect(a.state.begin(a.node, a.clock).mapEntries('m').map(([k]) => str(k))).toEqual(['live'])
  })

  it('keeps a popped vector element past the retention: a concurrent set of it, arriving late, still finds its place', async () => {
    let wall = 1_000_000
    const [a, c] = await pair(() => wall, () => wall)
    a.exec((s) => {
      s.vectorPush('v', b('first'))
      s.vectorPush('v', b('second'))
    })
    exchange(a, c)
    a.exec((s) => s.vectorPop('v')) // a pops 'second' ...
    wall += 3_600_000
    c.exec((s) => s.vectorSet('v', 1, b('kept'))) // ... while c, not having seen it, sets it: the set wins
    // on a, the pop's tombstone is past any retention before c's set arrives
    wall += 48 * 3_600_000
    const batch = a.store.batch()
    expect(a.state.collectTombstones(wall, batch)).toBe(0)
    batch.write()
    exchange(a, c)
    const elements = (r: Replica) => {
      const s = r.state.begin(r.node, r.clock)
      return Array.from({ length: s.vectorLen('v') }, (_, i) => str(s.vectorGet('v', i)))
    }
    expect(elements(a)).toEqual(['first', 'kept'])
    expect(elements(c)).toEqual(['first', 'kept'])
    expect(a.state.rootHash()).toEqual(c.state.rootHash())
  })

  it("a snapshot carries tombstones: a delta older than it, arriving after it, brings back nothing it removed", async () => {
    const [a] = await pair()
    const inserted = a.exec((s) => s.mapInsert('m', b('x'), b('early')))!
    a.exec((s) => s.mapRemove('m', b('x')))
    a.exec((s) => s.mapInsert('m', b('y'), b('kept')))
    const fresh = new Replica((await stores.store()).store, Buffer.alloc(32, 3))
    let after: Buffer | undefined
    for (;;) {
      const page = a.state.exportSnapshot({ after, limit: 2 })
      const batch = fresh.store.batch()
      fresh.state.importRecords(page.records, batch)
      batch.write()
      if (!page.next) break
      after = page.next
    }
    expect(fresh.state.rootHash()).toEqual(a.state.rootHash())
    // the insert comes again (a branch that was offline sends its ancestors): x stays removed
    fresh.receive(inserted)
    expect(fresh.state.rootHash()).toEqual(a.state.rootHash())
    expect(fresh.state.begin(fresh.node, fresh.clock).mapEntries('m').map(([k]) => str(k))).toEqual(['y'])
  })

  it('clearInto removes every row of the context and only that context', async () => {
    const { store } = await stores.store()
    const a = new Replica(store, Buffer.alloc(32, 1))
    const other = new Replica(store, Buffer.alloc(32, 1), undefined, Buffer.alloc(32, 8))
    a.exec((s) => s.mapInsert('m', b('k'), b('v')))
    other.exec((s) => s.mapInsert('m', b('k'), b('v')))
    const batch = store.batch()
    a.state.clearInto(batch)
    batch.write()
    expect(a.state.rootHash()).toEqual(EMPTY_ROOT_HASH)
    expect(new ContextState(store, Buffer.alloc(32, 8)).rootHash()).not.toEqual(EMPTY_ROOT_HASH)
  })
})
