import { MeroError } from '../primitives/errors.js'
import type { HlcTimestamp } from '../primitives/hlc.js'
import type { Store, WriteBatch } from '../store/store.js'
import type { Action } from './actions.js'
import {
  cloneEntity,
  computeHash,
  decodeEntity,
  encodeEntity,
  type Entity,
  EntityKind,
  joinDeleted,
  joinInsert,
  joinLive,
  joinRetired,
  joinSlot,
  newEntity,
  touch,
} from './entity.js'
import { CollectionKind, collectionId, ELEMENT_REF_BYTES, elementId, elementRef, elementSortKey, entryId, isCounterKind, refOfSortKey, ROOT_ID } from './ids.js'
import { indexKey, stateKey } from './keys.js'
import { ltAdd, ltSub } from './lthash.js'
import type { TextChange } from './text-cache.js'

interface Touched {
  entity: Entity
  /** Hash and index sort key when first touched in this round (what the parent holds now). */
  oldHash: Buffer | undefined
  oldSortKey: Buffer
}

const latin1 = (b: Buffer) => b.toString('latin1')

/**
 * The merge engine: applies actions (or joins remote entity records) to the entities they touch,
 * read through from the store, then recomputes hashes bottom-up (entries → collections → root),
 * maintains the live-children index, and writes everything into one WriteBatch. Local executions
 * and remote deltas go through the same code, so a replica's own writes and a peer's copy of them
 * end in the same bytes.
 */
export class WorkingSet {
  private readonly entities = new Map<string, Entity | null>()
  /** Keyed by the entity itself: `entities` holds one object per id. */
  private readonly touched = new Map<Entity, Touched>()
  private readonly indexOps = new Map<string, { key: Buffer; childId: Buffer | null }>()
  /** Each entity's record as the store (or this set's last flush) holds it: unchanged ones are not rewritten. */
  private readonly records = new Map<Entity, Buffer>()
  private seeds: ReadonlyMap<string, Entity | undefined> | undefined
  /** What this round did to texts, by collection (see takeTextChanges). */
  private readonly texts = new Map<Entity, TextChange & { coll: Entity }>()
  rootHash: Buffer | undefined

  constructor(
    private readonly store: Store,
    private readonly contextId: Buffer,
  ) {}

  get(id: Buffer): Entity | undefined {
    const k = latin1(id)
    const cached = this.cached(k)
    if (cached !== undefined) return cached ?? undefined
    const e = this.decode(this.store.get('state', stateKey(this.contextId, id)))
    this.entities.set(k, e ?? null)
    return e
  }

  private decode(raw: Buffer | undefined): Entity | undefined {
    if (!raw) return undefined
    const e = decodeEntity(raw, 'state entity', true)
    this.records.set(e, raw)
    return e
  }

  /** Loads many entities in one synchronous multi-get. */
  prefetch(ids: Buffer[]): void {
    const want = new Map<string, Buffer>()
    for (const id of ids) {
      const k = latin1(id)
      if (this.cached(k) === undefined) want.set(k, id)
    }
    if (want.size === 0) return
    const rows = this.store.getMany('state', Array.from(want.values(), (id) => stateKey(this.contextId, id)))
    let i = 0
    for (const k of want.keys()) {
      this.entities.set(k, this.decode(rows[i++]) ?? null)
    }
  }

  /**
   * Entities already read from the store (by latin1 id; undefined: absent), used instead of
   * reading them again. Each is copied when first used: joins mutate entities.
   */
  seed(entities: ReadonlyMap<string, Entity | undefined>): void {
    this.seeds = entities
  }

  /** The entity held for `k` (null: absent from the store), taking it from the seeds if there; undefined if not loaded. */
  private cached(k: string): Entity | null | undefined {
    const held = this.entities.get(k)
    if (held !== undefined || !this.seeds?.has(k)) return held
    const seed = this.seeds.get(k)
    const e = seed ? cloneEntity(seed) : null
    this.entities.set(k, e)
    return e
  }

  private mark(e: Entity): void {
    this.rootHash = undefined
    if (!this.touched.has(e)) this.touched.set(e, { entity: e, oldHash: e.hash, oldSortKey: sortKeyOf(e) })
  }

  private create(e: Entity): Entity {
    this.entities.set(latin1(e.id), e)
    return e
  }

  root(): Entity {
    return this.get(ROOT_ID) ?? this.create(newEntity(ROOT_ID, EntityKind.Root, CollectionKind.Storage, ROOT_ID, Buffer.alloc(0), { time: 0n, node: ROOT_ID }))
  }

  private collection(kind: CollectionKind, name: string, stamp: HlcTimestamp): Entity {
    const id = collectionId(kind, name)
    let c = this.get(id)
    if (!c) c = this.create(newEntity(id, isCounterKind(kind) ? EntityKind.Counter : EntityKind.Collection, kind, ROOT_ID, Buffer.from(name, 'utf8'), stamp))
    else if (c.key.length === 0 && name.length > 0) {
      this.mark(c)
      c.key = Buffer.from(name, 'utf8')
    }
    this.mark(c)
    touch(c, stamp)
    return c
  }

  private entry(coll: Entity, id: Buffer, key: Buffer, stamp: HlcTimestamp, kind: typeof EntityKind.Entry | typeof EntityKind.Run = EntityKind.Entry): Entity {
    const e = this.get(id) ?? this.create(newEntity(id, kind, coll.ckind, coll.id, key, stamp))
    if (e.kind !== kind) throw new MeroError('InvalidInput', 'state: an action names an entity of another kind')
    this.mark(e)
    touch(e, stamp)
    return e
  }

  /** The record of what this round does to a text (its hash before it is taken now). */
  private textChange(coll: Entity): TextChange {
    let ch = this.texts.get(coll)
    if (!ch) this.texts.set(coll, (ch = { coll, collection: coll.id, before: coll.hash, after: undefined, ops: [], rebuild: false }))
    return ch
  }

  /** The text changes since the last call, with their hashes after finalize(). */
  takeTextChanges(): TextChange[] {
    const out = [...this.texts.values()].map(({ coll, ...ch }) => ({ ...ch, after: coll.hash }))
    this.texts.clear()
    return out
  }

  /** Applies one delta's actions, all stamped with the delta's HLC. */
  applyActions(actions: readonly Action[], stamp: HlcTimestamp): void {
    this.applyDeltas([{ actions, hlc: stamp }])
  }

  /** Applies several deltas' actions in order, with one multi-get for every entity they touch. */
  applyDeltas(deltas: readonly { actions: readonly Action[]; hlc: HlcTimestamp }[]): void {
    const ids = deltas.map((d) => targetIds(d.actions, d.hlc))
    // finalize() rehashes the root: fetched in the same multi-get.
    this.prefetch([...ids.flat(), ROOT_ID])
    for (let d = 0; d < deltas.length; d++) this.apply(deltas[d]!.actions, deltas[d]!.hlc, ids[d]!)
  }

  /** `ids`: targetIds(actions, stamp). */
  private apply(actions: readonly Action[], stamp: HlcTimestamp, ids: Buffer[]): void {
    const node = Buffer.from(stamp.node)
    let i = 0
    for (const a of actions) {
      switch (a.type) {
        case 'update':
        case 'delete': {
          const coll = this.collection(a.target.kind, a.target.collection, stamp)
          const e = this.entry(coll, ids[i + 1]!, a.target.kind === CollectionKind.Vector ? Buffer.alloc(0) : a.target.key, stamp)
          for (const d of a.removes) joinRetired(e, d.node, d.time)
          if (a.type === 'update') joinLive(e, node, stamp.time, a.value)
          i += 2
          break
        }
        case 'insert': {
          const coll = this.collection(CollectionKind.Vector, a.vector, stamp)
          const ref = elementRef(stamp.time, node, a.seq)
          const e = this.entry(coll, ids[i + 1]!, Buffer.alloc(0), stamp)
          joinElementKey(e, elementSortKey(a.position, ref))
          if (a.position > coll.maxPosition) coll.maxPosition = a.position
          joinLive(e, node, stamp.time, a.value)
          i += 2
          break
        }
        case 'counter': {
          const c = this.collection(CollectionKind.Counter, a.counter, stamp)
          joinSlot(c, node, a.grow, a.shrink)
          i += 1
          break
        }
        case 'gcounter': {
          const c = this.collection(CollectionKind.GCounter, a.counter, stamp)
          joinSlot(c, node, a.grow, 0n)
          i += 1
          break
        }
        case 'textInsert': {
          const ref = elementRef(stamp.time, node, a.seq)
          if (a.origin && Buffer.compare(a.origin.run, ref) >= 0) {
            throw new MeroError('InvalidInput', 'delta: a text insertion follows a character that is not older than it')
          }
          const coll = this.collection(CollectionKind.Text, a.text, stamp)
          const e = this.entry(coll, ids[i + 1]!, ref, stamp, EntityKind.Run)
          const had = e.insert !== undefined
          if (joinInsert(e, { origin: a.origin ? originBytes(a.origin.run, a.origin.offset) : EMPTY, content: Buffer.from(a.content, 'utf8') })) {
            const ch = this.textChange(coll)
            if (had) ch.rebuild = true // an equivocated run: two contents under one ref
            ch.ops.push({ type: 'insert', run: e, ref, origin: a.origin ? { key: a.origin.run.toString('latin1'), offset: a.origin.offset } : undefined })
          }
          i += 2
          break
        }
        case 'textDelete': {
          const coll = this.collection(CollectionKind.Text, a.text, stamp)
          const e = this.entry(coll, ids[i + 1]!, a.run, stamp, EntityKind.Run)
          const flat = a.ranges.flat()
          if (joinDeleted(e, flat)) this.textChange(coll).ops.push({ type: 'delete', runKey: a.run.toString('latin1'), ranges: flat })
          i += 2
          break
        }
      }
    }
  }

  /**
   * Joins a peer's entity record (snapshot page, tree repair). The record's derived parts (hash,
   * digest, counts) are ignored and recomputed here; its id must match its content.
   */
  joinRecord(remote: Entity): void {
    verifyIdentity(remote)
    if (remote.kind === EntityKind.Root) return
    let local = this.get(remote.id)
    if (remote.kind === EntityKind.Entry || remote.kind === EntityKind.Run) {
      let parent = this.get(remote.parent)
      if (!parent) parent = this.create(newEntity(remote.parent, EntityKind.Collection, remote.ckind, ROOT_ID, Buffer.alloc(0), remote.created))
      if (parent.kind !== EntityKind.Collection || parent.ckind !== remote.ckind) {
        throw new MeroError('InvalidInput', 'state record: an entry does not match its collection')
      }
      this.mark(parent)
      touch(parent, remote.updated)
      if (remote.kind === EntityKind.Run) this.textChange(parent).rebuild = true
    }
    if (!local) local = this.create(newEntity(remote.id, remote.kind, remote.ckind, remote.parent, remote.kind === EntityKind.Entry && remote.ckind === CollectionKind.Vector ? Buffer.alloc(0) : remote.key, remote.created))
    if (local.kind !== remote.kind || local.ckind !== remote.ckind) throw new MeroError('InvalidInput', 'state record: kind does not match the local entity')
    this.mark(local)
    touch(local, remote.created)
    touch(local, remote.updated)
    switch (remote.kind) {
      case EntityKind.Entry:
        if (remote.ckind === CollectionKind.Vector) joinElementKey(local, remote.key)
        for (const r of remote.removed) joinRetired(local, r.node, r.time)
        for (const v of remote.live) joinLive(local, v.node, v.time, v.value)
        if (remote.ckind === CollectionKind.Vector && local.key.length > 0) {
          const parent = this.get(local.parent)!
          const pos = local.key.readBigUInt64BE(0)
          if (pos > parent.maxPosition) parent.maxPosition = pos
        }
        break
      case EntityKind.Counter:
        for (const s of remote.slots) joinSlot(local, s.node, s.grow, s.shrink)
        break
      case EntityKind.Run:
        if (remote.insert) joinInsert(local, remote.insert)
        joinDeleted(local, remote.deleted ?? [])
        break
      case EntityKind.Collection:
        if (local.key.length === 0) local.key = remote.key
        if (remote.maxPosition > local.maxPosition) local.maxPosition = remote.maxPosition
        break
    }
  }

  /** Recomputes hashes bottom-up and returns the new root hash (at once if nothing changed since). */
  finalize(): Buffer {
    if (this.rootHash !== undefined) return this.rootHash
    const root = this.root()
    for (const level of [EntityKind.Entry, EntityKind.Collection]) {
      const batch = [...this.touched.values()].filter(
        (t) => t.entity.kind === level || (level === EntityKind.Collection && t.entity.kind === EntityKind.Counter) || (level === EntityKind.Entry && t.entity.kind === EntityKind.Run),
      )
      for (const t of batch) {
        const e = t.entity
        const next = computeHash(e)
        const newKey = sortKeyOf(e)
        const sameHash = next === t.oldHash || (next !== undefined && t.oldHash !== undefined && next.equals(t.oldHash))
        const sameKey = newKey.equals(t.oldSortKey)
        const prevHash = t.oldHash
        const prevKey = t.oldSortKey
        e.hash = next
        t.oldHash = next
        t.oldSortKey = newKey
        if (sameHash && sameKey) continue
        const parent = e.kind === EntityKind.Entry || e.kind === EntityKind.Run ? this.get(e.parent) : root
        if (!parent) throw new MeroError('Internal', 'state: an entry lost its collection')
        this.mark(parent)
        if (prevHash) {
          ltSub(parent.digest!, e.id, prevHash)
          parent.liveCount--
        }
        if (next) {
          ltAdd(parent.digest!, e.id, next)
          parent.liveCount++
        }
        // An index row maps a live child's sort key to its id: a child that stays live under the
        // same key keeps its row as it is.
        if (prevHash && !(next && sameKey)) this.indexOp(parent.id, prevKey, null)
        if (next && !(prevHash && sameKey)) this.indexOp(parent.id, newKey, e.id)
      }
    }
    this.mark(root)
    root.hash = computeHash(root)
    this.rootHash = root.hash
    return root.hash!
  }

  private indexOp(parent: Buffer, sortKey: Buffer, childId: Buffer | null): void {
    const key = indexKey(this.contextId, parent, sortKey)
    this.indexOps.set(latin1(key), { key, childId })
  }

  /**
   * Writes every touched entity whose record changed, and the index rows, into the batch (a
   * delta merged again writes nothing); the set stays usable afterwards.
   */
  flushInto(batch: WriteBatch): void {
    if (this.rootHash === undefined) this.finalize()
    for (const { entity } of this.touched.values()) {
      const record = encodeEntity(entity)
      if (this.records.get(entity)?.equals(record)) continue
      batch.put('state', stateKey(this.contextId, entity.id), record)
      this.records.set(entity, record)
    }
    for (const op of this.indexOps.values()) {
      if (op.childId) batch.put('stateIndex', op.key, op.childId)
      else batch.del('stateIndex', op.key)
    }
    this.touched.clear()
    this.indexOps.clear()
    this.rootHash = undefined
  }

  get dirty(): boolean {
    return this.touched.size > 0
  }
}

/** For each action, the ids of the entities it touches: its collection (or counter), then its entry. */
function targetIds(actions: readonly Action[], stamp: HlcTimestamp): Buffer[] {
  const ids: Buffer[] = []
  for (const a of actions) {
    if (a.type === 'update' || a.type === 'delete') {
      const c = collectionId(a.target.kind, a.target.collection)
      ids.push(c, a.target.kind === CollectionKind.Vector ? elementId(c, a.target.key) : entryId(c, a.target.key))
    } else if (a.type === 'insert') {
      const c = collectionId(CollectionKind.Vector, a.vector)
      ids.push(c, elementId(c, elementRef(stamp.time, stamp.node, a.seq)))
    } else if (a.type === 'textInsert') {
      const c = collectionId(CollectionKind.Text, a.text)
      ids.push(c, entryId(c, elementRef(stamp.time, stamp.node, a.seq)))
    } else if (a.type === 'textDelete') {
      const c = collectionId(CollectionKind.Text, a.text)
      ids.push(c, entryId(c, a.run))
    } else ids.push(collectionId(a.type === 'gcounter' ? CollectionKind.GCounter : CollectionKind.Counter, a.counter))
  }
  return ids
}

const EMPTY = Buffer.alloc(0)

/** A run's origin as stored: the origin run's ref ‖ the character's offset (u32 BE). */
export function originBytes(run: Uint8Array, offset: number): Buffer {
  const out = Buffer.allocUnsafe(ELEMENT_REF_BYTES + 4)
  out.set(run, 0)
  out.writeUInt32BE(offset, ELEMENT_REF_BYTES)
  return out
}

/** Where an entity sits in its parent's index: entries by key (elements by sort key), others by id. */
export function sortKeyOf(e: Entity): Buffer {
  return e.kind === EntityKind.Entry || e.kind === EntityKind.Run ? e.key : e.id
}

function joinElementKey(e: Entity, sortKey: Buffer): void {
  if (e.key.length === 0 || Buffer.compare(sortKey, e.key) < 0) e.key = sortKey
}

function verifyIdentity(e: Entity): void {
  const bad = (why: string) => new MeroError('InvalidInput', `state record: ${why}`)
  switch (e.kind) {
    case EntityKind.Root:
      if (!e.id.equals(ROOT_ID)) throw bad('a root with a non-root id')
      return
    case EntityKind.Collection:
    case EntityKind.Counter: {
      const isCounter = e.kind === EntityKind.Counter
      if (isCounter !== isCounterKind(e.ckind)) throw bad('collection kind does not match')
      const name = e.key.toString('utf8')
      if (!Buffer.from(name, 'utf8').equals(e.key)) throw bad('a collection name is not UTF-8')
      if (!e.parent.equals(ROOT_ID) || !collectionId(e.ckind, name).equals(e.id)) throw bad('id does not match the collection')
      return
    }
    case EntityKind.Run: {
      if (e.ckind !== CollectionKind.Text || e.parent.equals(ROOT_ID)) throw bad('a text run outside a text')
      if (e.key.length !== ELEMENT_REF_BYTES || !entryId(e.parent, e.key).equals(e.id)) throw bad('id does not match the run ref')
      if (e.insert && e.insert.origin.length > 0 && Buffer.compare(e.insert.origin.subarray(0, ELEMENT_REF_BYTES), e.key) >= 0) throw bad('a text run follows a character that is not older than it')
      return
    }
    case EntityKind.Entry: {
      if (isCounterKind(e.ckind) || e.ckind === CollectionKind.Text || e.parent.equals(ROOT_ID)) throw bad('an entry outside a collection')
      const expected = e.ckind === CollectionKind.Vector ? (e.key.length === 52 ? elementId(e.parent, refOfSortKey(e.key)) : undefined) : entryId(e.parent, e.key)
      if (!expected || !expected.equals(e.id)) throw bad('id does not match the entry key')
      return
    }
  }
}
