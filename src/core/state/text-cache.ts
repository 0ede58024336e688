import type { Entity } from './entity.js'
import { elementRef } from './ids.js'
import { type RunInfo, runInfo, TextDoc } from './text.js'

/** What one merge round did to a text, in order (see WorkingSet.takeTextChanges). */
export type TextOp =
  | { type: 'insert'; run: Entity; ref: Buffer; origin: { key: string; offset: number } | undefined }
  | { type: 'delete'; runKey: string; ranges: number[] }

export interface TextChange {
  collection: Buffer
  /** The text collection's hash before the round (undefined: empty). */
  before: Buffer | undefined
  /** After it. */
  after: Buffer | undefined
  ops: TextOp[]
  /** Something the ops cannot replay happened (a snapshot's runs joined): build it again. */
  rebuild: boolean
}

/**
 * The materialised documents of a context's texts, each kept under the hash of its text
 * collection: a document is used only while the stored collection still has that hash, so a
 * stale one is never read. Merges (local commits and remote deltas alike) replay their text ops
 * on the cached document, so it follows the state without being built again; anything else makes
 * the next reader build it from the runs.
 */
export class TextCache {
  private readonly docs = new Map<string, { hash: Buffer; doc: TextDoc }>()
  /** Documents dropped to stay within the capacity (built again when read). */
  dropped = 0

  constructor(private readonly capacity = 8) {}

  get(collection: Buffer, hash: Buffer | undefined): TextDoc | undefined {
    if (!hash) return TextDoc.EMPTY
    const k = collection.toString('latin1')
    const hit = this.docs.get(k)
    if (!hit || !hit.hash.equals(hash)) return undefined
    this.docs.delete(k) // most recently used last
    this.docs.set(k, hit)
    return hit.doc
  }

  set(collection: Buffer, hash: Buffer | undefined, doc: TextDoc): void {
    const k = collection.toString('latin1')
    this.docs.delete(k)
    if (!hash) return
    this.docs.set(k, { hash, doc })
    while (this.docs.size > this.capacity) {
      this.docs.delete(this.docs.keys().next().value!)
      this.dropped++
    }
  }

  /** Documents held (at most the capacity, 8 by default). */
  get size(): number {
    return this.docs.size
  }

  /** Replays a merge round's text ops on the documents cached for the hashes they started from. */
  apply(changes: readonly TextChange[]): void {
    for (const ch of changes) {
      const k = ch.collection.toString('latin1')
      const hit = this.docs.get(k)
      this.docs.delete(k)
      if (ch.rebuild || !hit || !sameHash(hit.hash, ch.before)) continue
      const doc = replay(hit.doc, ch.ops)
      if (doc && ch.after) this.docs.set(k, { hash: ch.after, doc })
    }
  }

  clear(): void {
    this.docs.clear()
  }
}

function sameHash(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.equals(b))
}

function replay(start: TextDoc, ops: readonly TextOp[]): TextDoc | undefined {
  let doc: TextDoc | undefined = start
  for (const op of ops) {
    if (!doc) return undefined
    if (op.type === 'insert') {
      const insert = op.run.insert!
      doc = doc.integrate(runInfo(op.ref, 0, insert.content.toString('utf8')), op.origin, op.run.deleted ?? [])
    } else {
      doc = doc.deleteRanges(op.runKey, op.ranges) ?? doc
    }
  }
  return doc
}

/** A session's own run, once the delta's stamp is known: its ref. */
export function pendingRef(run: RunInfo, time: bigint, node: Uint8Array): Buffer {
  return run.ref ?? elementRef(time, node, run.seq)
}
