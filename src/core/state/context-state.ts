import { MeroError } from '../primitives/errors.js'
import { type Hlc, type HlcTimestamp, hlcTime } from '../primitives/hlc.js'
import type { Store, WriteBatch } from '../store/store.js'
import { prefixUpperBound } from '../store/store.js'
import type { Action, Delta } from './actions.js'
import { decodeEntity, EMPTY_ROOT_HASH, type Entity, EntityKind } from './entity.js'
import { CollectionKind, ELEMENT_REF_BYTES, ROOT_ID } from './ids.js'
import { indexPrefix, stateKey } from './keys.js'
import { StateSession } from './session.js'
import { TextCache } from './text-cache.js'
import { TextDoc } from './text.js'
import { WorkingSet } from './working-set.js'

export interface TreeNode {
  id: Buffer
  kind: 'root' | 'collection' | 'counter' | 'entry' | 'run'
  parent: Buffer
  /** Undefined when the entity is not live (a tombstone or an empty collection). */
  hash: Buffer | undefined
  /** The entity record as stored (what `importRecords` joins). */
  record: Buffer
  /** Live children with their hashes, in index order (a page of them when `limit` is set). */
  children: { id: Buffer; hash: Buffer }[]
  /** Pass as `after` to read the next page of children. */
  nextAfter: Buffer | undefined
}

export interface SnapshotPage {
  /** Entity records (decodable with decodeEntity), in id order. */
  records: Buffer[]
  /** The cursor for the next page; undefined on the last page. */
  next: Buffer | undefined
}

const KIND_NAMES = ['root', 'collection', 'counter', 'entry', 'run'] as const

/**
 * The replicated state of one context, over the store (column 'state': contextId ‖ entityId →
 * entity record; column 'stateIndex': live children by parent, in key order).
 *
 * Writes always go into a caller's WriteBatch, so the caller commits state, delta and DAG heads
 * at once. Contract: write (or drop) each batch before starting another state change of this
 * context in a different batch. Several changes may go into the same batch before it is written;
 * they see each other.
 */
export class ContextState {
  /** Incremented on every change committed into a batch. */
  version = 0
  private pending: { batch: WriteBatch; working: WorkingSet } | undefined
  /** Materialised texts, under their collections' hashes. */
  private readonly texts = new TextCache()

  /** The materialised texts held, and dropped to stay within their cache's capacity. */
  get textCache(): { entries: number; dropped: number } {
    return { entries: this.texts.size, dropped: this.texts.dropped }
  }

  constructor(
    readonly store: Store,
    readonly contextId: Buffer,
  ) {
    if (contextId.length !== 32) throw new MeroError('InvalidInput', `a context id is 32 bytes, got ${contextId.length}`)
  }

  /** The state hash as committed in the store. */
  rootHash(): Buffer {
    return this.load(ROOT_ID)?.hash ?? EMPTY_ROOT_HASH
  }

  /** Starts an execution: a HostState over an overlay. `executor` is the delta's author. */
  begin(executor: Uint8Array, clock: Hlc): StateSession {
    if (executor.length !== 32) throw new MeroError('InvalidInput', `an executor identity is 32 bytes, got ${executor.length}`)
    return new StateSession(this, Buffer.from(executor), clock)
  }

  /**
   * Merges a peer's actions (stamped with its delta's HLC) into the batch; returns the new root
   * hash. Idempotent: applying the same delta twice changes nothing.
   */
  applyRemote(actions: readonly Action[], hlc: HlcTimestamp, batch: WriteBatch): Buffer {
    if (hlc.node.length !== 32) throw new MeroError('InvalidInput', 'an HLC node id is 32 bytes')
    const ws = this.workingFor(batch)
    ws.applyActions(actions, hlc)
    return this.commitWorking(ws, batch)
  }

  /** applyRemote for a whole delta; with a clock, the delta's HLC is checked for drift and folded in first. */
  applyDelta(delta: Delta, batch: WriteBatch, clock?: Hlc): Buffer {
    if (!delta.contextId.equals(this.contextId)) throw new MeroError('InvalidInput', 'the delta belongs to another context')
    clock?.receive(delta.hlc)
    return this.applyRemote(delta.actions, delta.hlc, batch)
  }

  /**
   * Merges many deltas into one batch with one hash pass at the end (catch-up): an entity touched
   * by several of them is rehashed once. Returns the root hash after all of them.
   */
  applyDeltas(deltas: readonly Delta[], batch: WriteBatch, clock?: Hlc): Buffer {
    const ws = this.workingFor(batch)
    for (const d of deltas) {
      if (!d.contextId.equals(this.contextId)) throw new MeroError('InvalidInput', 'a delta belongs to another context')
      clock?.receive(d.hlc)
    }
    ws.applyDeltas(deltas)
    return this.commitWorking(ws, batch)
  }

  /** A tree node with its live children's hashes, for tree comparison. */
  readNode(id: Uint8Array, options: { after?: Uint8Array; limit?: number } = {}): TreeNode | undefined {
    const raw = this.store.get('state', stateKey(this.contextId, id))
    if (!raw) {
      if (!Buffer.from(id).equals(ROOT_ID)) return undefined
    }
    const e = raw ? decodeEntity(raw) : undefined
    const rows = this.children(Buffer.from(id), options)
    const kids = this.loadMany(rows.map((r) => r.id))
    const children = rows.map((r, i) => ({ id: r.id, hash: kids[i]?.hash ?? Buffer.alloc(32) }))
    const limited = options.limit !== undefined && rows.length === options.limit
    return {
      id: Buffer.from(id),
      kind: KIND_NAMES[e?.kind ?? EntityKind.Root],
      parent: e?.parent ?? ROOT_ID,
      hash: e ? e.hash : EMPTY_ROOT_HASH,
      record: raw ?? Buffer.alloc(0),
      children,
      nextAfter: limited ? rows[rows.length - 1]!.sortKey : undefined,
    }
  }

  /**
   * A page of the state for a snapshot: collections, counters and entries, tombstones included
   * (the derived root is left out), in id order, starting after `after`. A node that installs a
   * snapshot may still receive deltas older than it (a branch that was offline brings its
   * ancestors): a tombstone's retired stamps keep such a delta from bringing back what it removed.
   */
  exportSnapshot(options: { after?: Uint8Array; limit?: number } = {}): SnapshotPage {
    const limit = options.limit ?? 1000
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new MeroError('InvalidInput', 'snapshot page limit must be a positive integer')
    const prefix = this.contextId
    const records: Buffer[] = []
    let gt: Buffer = options.after ? stateKey(this.contextId, options.after) : Buffer.from(prefix)
    for (;;) {
      const rows = this.store.scan('state', { gt, ...prefixUpperBound(prefix), limit })
      for (const [k, v] of rows) {
        gt = k
        const e = decodeEntity(v)
        if (e.kind === EntityKind.Root) continue
        records.push(v)
        // The next page may turn out empty; that is the end too.
        if (records.length === limit) return { records, next: Buffer.from(k.subarray(32, 64)) }
      }
      if (rows.length < limit) return { records, next: undefined }
    }
  }

  /** Joins entity records from a peer (a snapshot page, or leaves found by tree comparison). */
  importRecords(records: readonly Uint8Array[], batch: WriteBatch): Buffer {
    const ws = this.workingFor(batch)
    const decoded = records.map((r) => decodeEntity(r, 'snapshot record'))
    ws.prefetch(decoded.flatMap((e) => [e.id, e.parent]))
    for (const e of decoded) ws.joinRecord(e)
    return this.commitWorking(ws, batch)
  }

  /**
   * Deletes tombstones (entries with no live value) last updated before `olderThanMs` (unix ms).
   * Hashes cover live state only, so no hash changes. Returns how many were collected.
   *
   * A popped vector element's tombstone is kept: only its insert carries its position, and an
   * update of the element concurrent with the pop (which wins) may come later than the retention
   * after the pop (its author was offline when the pop happened) and would have no place to go.
   */
  collectTombstones(olderThanMs: number, batch: WriteBatch, options: { pageSize?: number } = {}): number {
    const cutoff = hlcTime(Math.max(0, Math.floor(olderThanMs)))
    const pageSize = options.pageSize ?? 10_000
    const prefix = this.contextId
    let gt: Buffer = Buffer.from(prefix)
    let collected = 0
    for (;;) {
      const rows = this.store.scan('state', { gt, ...prefixUpperBound(prefix), limit: pageSize })
      for (const [k, v] of rows) {
        const e = decodeEntity(v)
        if (e.kind === EntityKind.Entry && e.ckind !== CollectionKind.Vector && e.hash === undefined && e.live.length === 0 && e.updated.time < cutoff) {
          batch.del('state', k)
          collected++
        }
      }
      if (rows.length < pageSize) break
      gt = rows[rows.length - 1]![0]
    }
    if (collected > 0) {
      this.pending = undefined
      this.version++
    }
    return collected
  }

  /** Deletes every row of this context's state and private storage (context deletion). */
  clearInto(batch: WriteBatch): void {
    for (const column of ['state', 'stateIndex', 'private'] as const) {
      for (const [k] of this.store.scanPrefix(column, this.contextId)) batch.del(column, k)
    }
    this.pending = undefined
    this.texts.clear()
    this.version++
  }

  /**
   * The document of a text collection as `stored` (its entity as read) holds it: from the cache
   * when its hash matches, else built from the collection's runs (and cached).
   */
  textDoc(collection: Buffer, stored: Entity | undefined): TextDoc {
    const hit = this.texts.get(collection, stored?.hash)
    if (hit) return hit
    const rows = this.children(collection)
    const runs = this.loadMany(rows.map((r) => r.id))
    const doc = TextDoc.build(
      runs.flatMap((e) =>
        e?.insert
          ? [{ ref: e.key, origin: e.insert.origin.length ? { ref: e.insert.origin.subarray(0, ELEMENT_REF_BYTES), offset: e.insert.origin.readUInt32BE(ELEMENT_REF_BYTES) } : undefined, text: e.insert.content.toString('utf8'), deleted: e.deleted ?? [] }]
          : [],
      ),
    )
    this.texts.set(collection, stored?.hash, doc)
    return doc
  }

  // --- read paths shared with sessions ---

  load(id: Buffer): Entity | undefined {
    const raw = this.store.get('state', stateKey(this.contextId, id))
    return raw ? decodeEntity(raw, 'state entity', true) : undefined
  }

  loadMany(ids: Buffer[]): (Entity | undefined)[] {
    if (ids.length === 0) return []
    return this.store.getMany('state', ids.map((id) => stateKey(this.contextId, id))).map((raw) => (raw ? decodeEntity(raw, 'state entity', true) : undefined))
  }

  /** Live children of an entity, in sort-key order. */
  children(parent: Buffer, options: { after?: Uint8Array; limit?: number } = {}): { sortKey: Buffer; id: Buffer }[] {
    const prefix = indexPrefix(this.contextId, parent)
    const range = options.after ? { gt: Buffer.concat([prefix, options.after]), ...prefixUpperBound(prefix) } : { gte: prefix, ...prefixUpperBound(prefix) }
    return this.store.scan('stateIndex', { ...range, limit: options.limit }).map(([k, v]) => ({ sortKey: k.subarray(64), id: v }))
  }

  // --- batch bookkeeping ---

  /** @internal The merge engine for a batch: the same one again while that batch is unwritten. */
  workingFor(batch: WriteBatch | undefined): WorkingSet {
    if (batch && this.pending && this.pending.batch === batch && batch.size > 0) return this.pending.working
    return new WorkingSet(this.store, this.contextId)
  }

  /** @internal */
  hasUnwrittenBatch(batch: WriteBatch): boolean {
    return this.pending !== undefined && this.pending.batch === batch && batch.size > 0
  }

  /** @internal Whether the last commit's batch is still unwritten (the store does not hold it yet). */
  hasUnwrittenCommit(): boolean {
    return this.pending !== undefined && this.pending.batch.size > 0
  }

  /** @internal */
  commitWorking(ws: WorkingSet, batch: WriteBatch): Buffer {
    const root = ws.finalize()
    const texts = ws.takeTextChanges()
    ws.flushInto(batch)
    if (texts.length) this.texts.apply(texts)
    this.pending = { batch, working: ws }
    this.version++
    return root
  }
}
