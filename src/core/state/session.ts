import { MeroError } from '../primitives/errors.js'
import type { Hlc, HlcTimestamp } from '../primitives/hlc.js'
import type { HostState } from '../runtime/host-state.js'
import type { Store, WriteBatch } from '../store/store.js'
import type { Action, Dot, Target } from './actions.js'
import { type Entity, winner } from './entity.js'
import { CollectionKind, collectionId, entryId, isCounterKind, refOfSortKey, STORAGE_NAME } from './ids.js'
import { privateKey } from './keys.js'
import { type ScanRange, scanLive } from './scan.js'
import type { TextDoc } from './text.js'
import { TextDraft } from './text-draft.js'
import type { WorkingSet } from './working-set.js'

const EMPTY = Buffer.alloc(0)
const U64_MAX = (1n << 64n) - 1n
/** An action's fixed part in a delta (tag, kind, lengths, observed dots), roughly. */
const WRITE_OVERHEAD = 64

type EntryKind = Target['kind']

interface CollDraft {
  id: Buffer
  kind: CollectionKind
  name: string
  base: Entity | undefined
  lenDelta: number
  /** Entries whose liveness changed in this session, by sort key. */
  changes: Map<string, { sortKey: Buffer; id: Buffer; live: boolean }>
  /** Vectors: the live elements in order, loaded on first indexed access. */
  elements?: VectorItem[]
  nextPosition: bigint
  /** Vectors: elements pushed before `elements` was loaded. */
  pushed: NewElement[]
  /** How many entry drafts of this collection the session holds (none: scans read the store alone). */
  drafts: number
}

interface EntryDraft {
  type: 'entry'
  id: Buffer
  coll: CollDraft
  target: Target
  sortKey: Buffer
  observed: Dot[]
  value: Buffer | undefined
  written: boolean
}

interface NewElement {
  type: 'new'
  coll: CollDraft
  seq: number
  position: bigint
  value: Buffer | undefined
}

interface CounterDraft {
  type: 'counter'
  kind: typeof CollectionKind.Counter | typeof CollectionKind.GCounter
  name: string
  others: bigint
  grow: bigint
  shrink: bigint
  changed: boolean
}

type VectorItem = EntryDraft | NewElement

/**
 * What a session reads and commits through: the context's state (ContextState). Declared here so
 * that the session does not import the class that creates it.
 */
export interface SessionState {
  /** Incremented on every change committed into a batch. */
  readonly version: number
  readonly store: Store
  readonly contextId: Buffer
  rootHash(): Buffer
  load(id: Buffer): Entity | undefined
  loadMany(ids: Buffer[]): (Entity | undefined)[]
  children(parent: Buffer): { sortKey: Buffer; id: Buffer }[]
  workingFor(batch: WriteBatch | undefined): WorkingSet
  hasUnwrittenBatch(batch: WriteBatch): boolean
  hasUnwrittenCommit(): boolean
  commitWorking(ws: WorkingSet, batch: WriteBatch): Buffer
  /** A text collection's document as `stored` holds it (cached by the state). */
  textDoc(collection: Buffer, stored: Entity | undefined): TextDoc
}

export interface SessionResult {
  /** Empty when the execution wrote nothing: then there is no delta to make. */
  actions: Action[]
  /** The root hash after these actions. */
  rootHash: Buffer
  /** The delta's stamp (taken from the clock at the first call that needed it). */
  hlc: HlcTimestamp | undefined
  author: Buffer
}

/**
 * One execution's view of a context's state (the HostState the wasm host functions call).
 * Reads go to the store, through an overlay of this execution's writes (only touched entries are
 * held, never a copy of the state). Writes are recorded per entity; `finish()` turns them into
 * one action per entity, merges them through the same engine as remote deltas and returns the
 * new root hash; `commitInto(batch)` adds the state rows to the caller's batch, so that state,
 * delta and DAG heads are written at once. A session that is dropped writes nothing.
 */
export class StateSession implements HostState {
  private readonly colls = new Map<string, CollDraft>()
  private readonly entries = new Map<string, EntryDraft>()
  private readonly counters = new Map<string, CounterDraft>()
  private readonly texts = new Map<string, TextDraft>()
  /** Node-local private storage written by this session (latin1 row key → key and new value). */
  private readonly privates = new Map<string, { row: Buffer; value: Buffer | undefined }>()
  /** Written drafts in first-write order: the order of the delta's actions. */
  private readonly writes: (EntryDraft | NewElement | CounterDraft | TextDraft)[] = []
  private readonly writeSet = new Set<object>()
  private seq = 0
  private stamp: HlcTimestamp | undefined
  /** The entities this execution read from the store (undefined: absent), by latin1 id. */
  private readonly bases = new Map<string, Entity | undefined>()
  /**
   * The state version they were read at, or null if a committed batch was still unwritten then
   * (the store did not hold everything yet); undefined before the first read.
   */
  private basesVersion: number | null | undefined
  private result: { res: SessionResult; working: WorkingSet | undefined; version: number } | undefined
  /** How to take back each write since the session began, latest last (see savepoint()). */
  private readonly undo: (() => void)[] = []
  /**
   * About how many bytes the delta's actions will take: keys and values as written, plus a fixed
   * amount per write (rewrites of one entry count again, so this errs high).
   */
  writtenBytes = 0

  constructor(
    private readonly state: SessionState,
    readonly author: Buffer,
    private readonly clock: Hlc,
  ) {}

  // storage_read / storage_write / storage_remove: LWW registers in the implicit storage collection
  read(key: Uint8Array): Uint8Array | undefined {
    return this.entry(CollectionKind.Storage, STORAGE_NAME, key).value
  }
  write(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.Storage, STORAGE_NAME, key), buf(value))
  }
  remove(key: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.Storage, STORAGE_NAME, key), undefined)
  }

  mapGet(map: string, key: Uint8Array): Uint8Array | undefined {
    return this.entry(CollectionKind.Map, map, key).value
  }
  mapInsert(map: string, key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.Map, map, key), buf(value))
  }
  mapRemove(map: string, key: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.Map, map, key), undefined)
  }
  mapContains(map: string, key: Uint8Array): boolean {
    return this.entry(CollectionKind.Map, map, key).value !== undefined
  }
  mapLen(map: string): number {
    return this.len(this.coll(CollectionKind.Map, map))
  }
  mapEntries(map: string): [Uint8Array, Uint8Array][] {
    return this.list(this.coll(CollectionKind.Map, map)).map((d) => [d.target.key, d.value!] as [Uint8Array, Uint8Array])
  }
  mapClear(map: string): number {
    const live = this.list(this.coll(CollectionKind.Map, map))
    for (const d of live) this.put(d, undefined)
    return live.length
  }

  setAdd(set: string, value: Uint8Array): boolean {
    const d = this.entry(CollectionKind.Set, set, value)
    if (d.value !== undefined) return false
    this.put(d, EMPTY)
    return true
  }
  setRemove(set: string, value: Uint8Array): boolean {
    const d = this.entry(CollectionKind.Set, set, value)
    if (d.value === undefined) return false
    this.put(d, undefined)
    return true
  }
  setContains(set: string, value: Uint8Array): boolean {
    return this.entry(CollectionKind.Set, set, value).value !== undefined
  }
  setLen(set: string): number {
    return this.len(this.coll(CollectionKind.Set, set))
  }
  setValues(set: string): Uint8Array[] {
    return this.list(this.coll(CollectionKind.Set, set)).map((d) => d.target.key)
  }

  counterAdd(counter: string, delta: bigint): bigint {
    return this.addTo(this.counter(counter, CollectionKind.Counter), delta)
  }
  counterValue(counter: string): bigint {
    const c = this.counter(counter, CollectionKind.Counter)
    return c.others + c.grow - c.shrink
  }

  /** Grow-only counters: `by` must not be negative. */
  gcounterAdd(counter: string, by: bigint): bigint {
    if (by < 0n) throw new MeroError('ExecutionFailed', `grow-only counter '${counter}' cannot be decremented`)
    return this.addTo(this.counter(counter, CollectionKind.GCounter), by)
  }
  gcounterValue(counter: string): bigint {
    const c = this.counter(counter, CollectionKind.GCounter)
    return c.others + c.grow
  }

  private addTo(c: CounterDraft, delta: bigint): bigint {
    const counter = c.name
    if (delta === 0n) return c.others + c.grow - c.shrink
    const { grow, shrink, changed } = c
    this.writtenBytes += WRITE_OVERHEAD + counter.length
    this.undo.push(() => {
      c.grow = grow
      c.shrink = shrink
      c.changed = changed
      this.writtenBytes -= WRITE_OVERHEAD + counter.length
    })
    if (delta >= 0n) c.grow += delta
    else c.shrink += -delta
    if (c.grow > U64_MAX || c.shrink > U64_MAX) throw new MeroError('LimitExceeded', `counter '${counter}': this node's total exceeds 2^64 - 1`)
    c.changed = true
    this.recordWrite(c)
    return c.others + c.grow - c.shrink
  }

  // sorted maps and sets: entries as maps' and sets', read in key order by ranges and pages
  sortedMapGet(map: string, key: Uint8Array): Uint8Array | undefined {
    return this.entry(CollectionKind.SortedMap, map, key).value
  }
  sortedMapInsert(map: string, key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.SortedMap, map, key), buf(value))
  }
  sortedMapRemove(map: string, key: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.SortedMap, map, key), undefined)
  }
  sortedMapContains(map: string, key: Uint8Array): boolean {
    return this.entry(CollectionKind.SortedMap, map, key).value !== undefined
  }
  sortedMapLen(map: string): number {
    return this.len(this.coll(CollectionKind.SortedMap, map))
  }
  sortedMapScan(map: string, range: ScanRange): [Uint8Array, Uint8Array][] {
    return this.scan(CollectionKind.SortedMap, map, range).map((e) => [e.key, e.value] as [Uint8Array, Uint8Array])
  }
  /** Unordered maps are kept in key order too: pages of them (kv-store's paged entries). */
  mapScan(map: string, range: ScanRange): [Uint8Array, Uint8Array][] {
    return this.scan(CollectionKind.Map, map, range).map((e) => [e.key, e.value] as [Uint8Array, Uint8Array])
  }

  sortedSetAdd(set: string, value: Uint8Array): boolean {
    const d = this.entry(CollectionKind.SortedSet, set, value)
    if (d.value !== undefined) return false
    this.put(d, EMPTY)
    return true
  }
  sortedSetRemove(set: string, value: Uint8Array): boolean {
    const d = this.entry(CollectionKind.SortedSet, set, value)
    if (d.value === undefined) return false
    this.put(d, undefined)
    return true
  }
  sortedSetContains(set: string, value: Uint8Array): boolean {
    return this.entry(CollectionKind.SortedSet, set, value).value !== undefined
  }
  sortedSetLen(set: string): number {
    return this.len(this.coll(CollectionKind.SortedSet, set))
  }
  sortedSetScan(set: string, range: ScanRange): Uint8Array[] {
    return this.scan(CollectionKind.SortedSet, set, range).map((e) => e.key)
  }
  setScan(set: string, range: ScanRange): Uint8Array[] {
    return this.scan(CollectionKind.Set, set, range).map((e) => e.key)
  }

  // named last-writer-wins registers
  registerGet(name: Uint8Array): Uint8Array | undefined {
    return this.entry(CollectionKind.Register, STORAGE_NAME, name).value
  }
  registerSet(name: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.Register, STORAGE_NAME, name), buf(value))
  }
  registerClear(name: Uint8Array): Uint8Array | undefined {
    return this.put(this.entry(CollectionKind.Register, STORAGE_NAME, name), undefined)
  }

  // texts (RGA): positions in code points
  textInsert(name: string, pos: number, text: string): number {
    if (text.length === 0) return this.textLen(name)
    const t = this.text(name)
    const seq = this.seq++
    const { undo, origin } = t.insert(pos, text, seq)
    // the delta's stamp must be newer than the character it follows: a clock that has not seen
    // it yet (a node that took a snapshot) is moved past it
    if (origin?.run.ref) {
      try {
        this.clock.receive({ time: origin.run.ref.readBigUInt64BE(0), node: origin.run.ref.subarray(8, 40) })
      } catch (e) {
        undo()
        this.seq--
        throw new MeroError('ExecutionFailed', `text '${name}': ${(e as Error).message}`)
      }
    }
    const size = WRITE_OVERHEAD + name.length + Buffer.byteLength(text, 'utf8')
    this.writtenBytes += size
    this.undo.push(() => {
      undo()
      this.seq--
      this.writtenBytes -= size
    })
    this.recordWrite(t)
    return t.length
  }
  textDelete(name: string, pos: number, count: number): number {
    const t = this.text(name)
    const { deleted, undo } = t.delete(pos, count)
    if (deleted === 0) return 0
    this.writtenBytes += WRITE_OVERHEAD + name.length
    this.undo.push(() => {
      undo()
      this.writtenBytes -= WRITE_OVERHEAD + name.length
    })
    this.recordWrite(t)
    return deleted
  }
  textLen(name: string): number {
    return this.text(name).length
  }
  /** Code points [start, end) of the text (clamped to it). */
  textRead(name: string, start = 0, end = Number.MAX_SAFE_INTEGER): string {
    return this.text(name).doc.text(start, end)
  }

  // node-local private storage: never in a delta, the root hash or sync
  privateRead(key: Uint8Array): Uint8Array | undefined {
    const row = privateKey(this.state.contextId, key)
    const own = this.privates.get(row.toString('latin1'))
    if (own) return own.value
    return this.state.store.get('private', row)
  }
  privateWrite(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    return this.putPrivate(key, buf(value))
  }
  privateRemove(key: Uint8Array): Uint8Array | undefined {
    return this.putPrivate(key, undefined)
  }

  private putPrivate(key: Uint8Array, value: Buffer | undefined): Uint8Array | undefined {
    if (this.result) throw new MeroError('Internal', 'state session: a write after finish()')
    const row = privateKey(this.state.contextId, key)
    const k = row.toString('latin1')
    const had = this.privates.get(k)
    const prev = had ? had.value : this.state.store.get('private', row)
    this.privates.set(k, { row, value })
    this.undo.push(() => {
      if (had) this.privates.set(k, had)
      else this.privates.delete(k)
    })
    return prev
  }

  /** Adds this session's private storage writes to a batch (they go with its commit, delta or not). */
  privateInto(batch: WriteBatch): void {
    for (const { row, value } of this.privates.values()) {
      if (value) batch.put('private', row, value)
      else batch.del('private', row)
    }
  }

  /** Writes the private storage writes alone (a session that changed nothing replicated). */
  writePrivate(): void {
    if (this.privates.size === 0) return
    const batch = this.state.store.batch()
    this.privateInto(batch)
    batch.write()
  }

  vectorPush(vector: string, value: Uint8Array): number {
    const coll = this.coll(CollectionKind.Vector, vector)
    const el: NewElement = { type: 'new', coll, seq: this.seq++, position: coll.nextPosition++, value: buf(value) }
    if (coll.elements) coll.elements.push(el)
    else coll.pushed.push(el)
    coll.lenDelta++
    const size = WRITE_OVERHEAD + vector.length + value.length
    this.writtenBytes += size
    this.undo.push(() => {
      this.writtenBytes -= size
      this.seq--
      coll.nextPosition--
      coll.lenDelta--
      const list = coll.elements ?? coll.pushed
      list.splice(list.lastIndexOf(el), 1)
    })
    this.recordWrite(el)
    return this.len(coll)
  }
  vectorGet(vector: string, index: number): Uint8Array | undefined {
    return this.elements(vector)[index]?.value
  }
  vectorSet(vector: string, index: number, value: Uint8Array): Uint8Array | undefined {
    const item = this.elements(vector)[index]
    if (!item) return undefined
    const prev = item.value
    if (item.type === 'new') {
      item.value = buf(value)
      this.writtenBytes += value.length
      this.undo.push(() => {
        item.value = prev
        this.writtenBytes -= value.length
      })
      return prev
    }
    return this.put(item, buf(value))
  }
  vectorPop(vector: string): Uint8Array | undefined {
    const list = this.elements(vector)
    const item = list.pop()
    if (!item) return undefined
    this.undo.push(() => list.push(item))
    const prev = item.value
    if (item.type === 'new') {
      item.value = undefined
      item.coll.lenDelta--
      this.undo.push(() => {
        item.value = prev
        item.coll.lenDelta++
      })
    } else this.put(item, undefined)
    return prev
  }
  vectorLen(vector: string): number {
    return this.len(this.coll(CollectionKind.Vector, vector))
  }

  rootHash(): Uint8Array {
    if (this.writes.length === 0) return this.state.rootHash()
    const { working } = this.merge()
    return working.rootHash!
  }

  /**
   * A point to roll back to: several executions may share one session (their writes then commit
   * as one delta), and one that fails must take back its own writes and nothing else.
   */
  savepoint(): number {
    return this.undo.length
  }

  /** Takes back every write made since `savepoint()` returned `mark`. */
  rollbackTo(mark: number): void {
    if (this.result) throw new MeroError('Internal', 'state session: a rollback after finish()')
    while (this.undo.length > mark) this.undo.pop()!()
  }

  /** Whether anything was written since `savepoint()` returned `mark`. */
  wroteSince(mark: number): boolean {
    return this.undo.length > mark
  }

  /** The actions and the root hash after them. Further writes are refused. */
  finish(): SessionResult {
    if (this.result) return this.result.res
    const version = this.state.version
    const actions = this.actions()
    if (actions.length === 0) {
      this.result = { res: { actions, rootHash: this.state.rootHash(), hlc: undefined, author: this.author }, working: undefined, version }
    } else {
      const { working, stamp } = this.merge(actions)
      this.result = { res: { actions, rootHash: working.rootHash!, hlc: stamp, author: this.author }, working, version }
    }
    return this.result.res
  }

  /**
   * Adds this execution's state rows to `batch` and returns the root hash. If the state changed
   * since `finish()` (another commit went in first), the actions are merged again on top of it:
   * they are joins, so the result is still right.
   */
  commitInto(batch: WriteBatch): Buffer {
    const { res, working, version } = this.result ?? { ...this.finishAndGet() }
    if (res.actions.length === 0) return res.rootHash
    let ws = working
    if (!ws || version !== this.state.version || this.state.hasUnwrittenBatch(batch)) {
      ws = this.state.workingFor(batch)
      ws.applyActions(res.actions, res.hlc!)
    }
    const root = this.state.commitWorking(ws, batch)
    this.result = { res: { ...res, rootHash: root }, working: undefined, version: -1 }
    return root
  }

  private finishAndGet() {
    this.finish()
    return this.result!
  }

  private merge(actions = this.actions()): { working: WorkingSet; stamp: HlcTimestamp } {
    this.stamp ??= this.clock.now()
    const working = this.state.workingFor(undefined)
    // Nothing was committed since the reads: the merge starts from them instead of reading again.
    if (this.basesVersion === this.state.version) working.seed(this.bases)
    working.applyActions(actions, this.stamp)
    working.finalize()
    return { working, stamp: this.stamp }
  }

  private actions(): Action[] {
    const out: Action[] = []
    // a text's actions name its new runs by the delta's stamp
    if (this.texts.size > 0 && this.writes.some((w) => w.type === 'text')) this.stamp ??= this.clock.now()
    for (const w of this.writes) {
      if (w.type === 'text') {
        if (w.changed) out.push(...w.actions(this.stamp!.time, this.stamp!.node))
        continue
      }
      if (w.type === 'entry') {
        if (w.value !== undefined) out.push({ type: 'update', target: w.target, value: w.value, removes: w.observed })
        else if (w.observed.length > 0) out.push({ type: 'delete', target: w.target, removes: w.observed })
      } else if (w.type === 'new') {
        if (w.value !== undefined) out.push({ type: 'insert', vector: w.coll.name, seq: w.seq, position: w.position, value: w.value })
      } else if (w.changed) {
        if (w.kind === CollectionKind.GCounter) out.push({ type: 'gcounter', counter: w.name, grow: w.grow })
        else out.push({ type: 'counter', counter: w.name, grow: w.grow, shrink: w.shrink })
      }
    }
    return out
  }

  private recordWrite(w: EntryDraft | NewElement | CounterDraft | TextDraft): void {
    if (this.result) throw new MeroError('Internal', 'state session: a write after finish()')
    if (this.writeSet.has(w)) return
    this.writeSet.add(w)
    this.writes.push(w)
    this.undo.push(() => {
      this.writes.pop()
      this.writeSet.delete(w)
    })
  }

  private coll(kind: CollectionKind, name: string): CollDraft {
    const memo = `${kind}:${name}`
    let c = this.colls.get(memo)
    if (!c) {
      const id = collectionId(kind, name)
      const base = this.load(id)
      c = { id, kind, name, base, lenDelta: 0, changes: new Map(), nextPosition: (base?.maxPosition ?? 0n) + 1n, pushed: [], drafts: 0 }
      this.colls.set(memo, c)
    }
    return c
  }

  private len(c: CollDraft): number {
    return (c.base?.liveCount ?? 0) + c.lenDelta
  }

  private entry(kind: EntryKind, name: string, key: Uint8Array): EntryDraft {
    const coll = this.coll(kind, name)
    const k = buf(key)
    const id = entryId(coll.id, k)
    const memo = id.toString('latin1')
    let d = this.entries.get(memo)
    if (!d) {
      d = this.draftFor(coll, id, this.load(id), k)
      d.target = { kind, collection: name, key: k }
      this.entries.set(memo, d)
    }
    return d
  }

  private draftFor(coll: CollDraft, id: Buffer, base: Entity | undefined, sortKey: Buffer): EntryDraft {
    const live = base !== undefined && base.hash !== undefined
    coll.drafts++
    return {
      type: 'entry',
      id,
      coll,
      target: { kind: coll.kind as EntryKind, collection: coll.name, key: sortKey },
      sortKey,
      observed: base ? base.live.map((v) => ({ node: v.node, time: v.time })) : [],
      value: live ? winner(base)!.value : undefined,
      written: false,
    }
  }

  private put(d: EntryDraft, value: Buffer | undefined): Buffer | undefined {
    const prev = d.value
    const wasLive = prev !== undefined
    const isLive = value !== undefined
    const written = d.written
    const size = WRITE_OVERHEAD + d.target.collection.length + d.target.key.length + (value?.length ?? 0)
    d.value = value
    d.written = true
    this.writtenBytes += size
    this.undo.push(() => {
      d.value = prev
      d.written = written
      this.writtenBytes -= size
    })
    this.recordWrite(d)
    if (wasLive !== isLive) {
      const coll = d.coll
      const k = d.sortKey.toString('latin1')
      const change = coll.changes.get(k)
      coll.lenDelta += isLive ? 1 : -1
      coll.changes.set(k, { sortKey: d.sortKey, id: d.id, live: isLive })
      this.undo.push(() => {
        coll.lenDelta -= isLive ? 1 : -1
        if (change) coll.changes.set(k, change)
        else coll.changes.delete(k)
      })
    }
    return prev
  }

  private counter(name: string, kind: CounterDraft['kind']): CounterDraft {
    const memo = `${kind}:${name}`
    let c = this.counters.get(memo)
    if (!c) {
      if (!isCounterKind(kind)) throw new MeroError('Internal', 'not a counter kind')
      const base = this.load(collectionId(kind, name))
      let others = 0n
      let grow = 0n
      let shrink = 0n
      for (const s of base?.slots ?? []) {
        if (s.node.equals(this.clock.node)) {
          grow = s.grow
          shrink = s.shrink
        } else others += s.grow - s.shrink
      }
      c = { type: 'counter', kind, name, others, grow, shrink, changed: false }
      this.counters.set(memo, c)
    }
    return c
  }

  private load(id: Buffer): Entity | undefined {
    return this.loadMany([id])[0]
  }

  private loadMany(ids: Buffer[]): (Entity | undefined)[] {
    if (this.basesVersion === undefined) this.basesVersion = this.state.hasUnwrittenCommit() ? null : this.state.version
    const loaded = ids.length === 1 ? [this.state.load(ids[0]!)] : this.state.loadMany(ids)
    for (let i = 0; i < ids.length; i++) this.bases.set(ids[i]!.toString('latin1'), loaded[i])
    return loaded
  }

  /** A page of a collection's live entries in key order (see scan.ts), as drafts. */
  /**
   * A page of a collection's live entries in key order (see scan.ts): keys and values. Entries the
   * session has drafts of are read from them; the others straight from the store, without making
   * drafts or remembering them (a listing of 100,000 entries made 100,000 drafts: 27 µs and
   * ~3 KB each).
   */
  private scan(kind: EntryKind, name: string, range: ScanRange): { key: Buffer; value: Buffer }[] {
    const coll = this.coll(kind, name)
    const rows = scanLive(this.state.store, this.state.contextId, coll.id, coll.changes, range)
    const drafts = coll.drafts > 0 ? rows.map((r) => this.entries.get(r.id.toString('latin1'))) : []
    const missing = coll.drafts > 0 ? rows.filter((_, i) => !drafts[i]) : rows
    const loaded = this.state.loadMany(missing.map((r) => r.id))
    const out: { key: Buffer; value: Buffer }[] = []
    let m = 0
    for (let i = 0; i < rows.length; i++) {
      const d = drafts[i]
      const value = d ? d.value : liveValue(loaded[m++])
      if (value !== undefined) out.push({ key: rows[i]!.sortKey, value })
    }
    return out
  }

  /** A text's draft: the committed document (cached by the state), then this session's edits. */
  private text(name: string): TextDraft {
    let t = this.texts.get(name)
    if (!t) {
      const coll = this.coll(CollectionKind.Text, name)
      t = new TextDraft(name, this.state.textDoc(coll.id, coll.base))
      this.texts.set(name, t)
    }
    return t
  }

  /** Live entries of a map or set in key order: the stored index, patched by this session. */
  private list(coll: CollDraft): EntryDraft[] {
    const rows = new Map<string, { sortKey: Buffer; id: Buffer }>()
    for (const r of this.state.children(coll.id)) rows.set(r.sortKey.toString('latin1'), r)
    for (const [k, ch] of coll.changes) {
      if (ch.live) rows.set(k, ch)
      else rows.delete(k)
    }
    const sorted = [...rows.values()].sort((a, b) => Buffer.compare(a.sortKey, b.sortKey))
    const missing = sorted.filter((r) => !this.entries.has(r.id.toString('latin1')))
    const loaded = this.loadMany(missing.map((r) => r.id))
    for (let i = 0; i < missing.length; i++) {
      const r = missing[i]!
      const d = this.draftFor(coll, r.id, loaded[i], r.sortKey)
      this.entries.set(r.id.toString('latin1'), d)
    }
    return sorted.map((r) => this.entries.get(r.id.toString('latin1'))!).filter((d) => d.value !== undefined)
  }

  /** A vector's live elements in order (loaded once per session, then kept up to date). */
  private elements(vector: string): VectorItem[] {
    const coll = this.coll(CollectionKind.Vector, vector)
    if (!coll.elements) {
      const rows = this.state.children(coll.id)
      const loaded = this.loadMany(rows.map((r) => r.id))
      const items: VectorItem[] = []
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!
        const d = this.draftFor(coll, r.id, loaded[i], r.sortKey)
        d.target = { kind: CollectionKind.Vector, collection: vector, key: refOfSortKey(r.sortKey) }
        this.entries.set(r.id.toString('latin1'), d)
        if (d.value !== undefined) items.push(d)
      }
      coll.elements = [...items, ...coll.pushed.filter((p) => p.value !== undefined)]
      coll.pushed = []
    }
    return coll.elements
  }
}

/** The value a read sees in a stored entry (undefined: not live). */
function liveValue(e: Entity | undefined): Buffer | undefined {
  return e !== undefined && e.hash !== undefined ? winner(e)!.value : undefined
}

function buf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b)
}
