import { MeroError } from '../primitives/errors.js'
import type { Action } from './actions.js'
import { pendingRef } from './text-cache.js'
import { type CharAt, type RunInfo, runInfo, type TextDoc } from './text.js'
import { unionRanges } from './entity.js'

/** Ranges per delete action (DEFAULT_DELTA_LIMITS.maxRemoves). */
const MAX_RANGES = 4096

/**
 * One session's edits of one text: its own copy of the document (the committed one plus its
 * edits, so that later calls in the session read them), the runs it inserted and the characters it
 * deleted. Every change returns how to take it back (the session's savepoints).
 */
export class TextDraft {
  readonly type = 'text'
  private inserts: { run: RunInfo; origin: CharAt | undefined }[] = []
  private deletes = new Map<string, { run: RunInfo; ranges: number[] }>()

  constructor(
    readonly name: string,
    public doc: TextDoc,
  ) {}

  get length(): number {
    return this.doc.length
  }

  /** Inserts `text` so that it starts at code point `pos`; `seq` names the new run in the delta. */
  insert(pos: number, text: string, seq: number): { undo: () => void; origin: CharAt | undefined } {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos > this.doc.length) {
      throw new MeroError('ExecutionFailed', `text '${this.name}': position ${pos} is outside the text (length ${this.doc.length})`)
    }
    const run = runInfo(undefined, seq, text)
    const before = this.doc
    const { doc, origin } = this.doc.insertAt(pos, run)
    this.doc = doc
    this.inserts.push({ run, origin })
    return {
      origin,
      undo: () => {
        this.doc = before
        this.inserts.pop()
      },
    }
  }

  /** Deletes up to `count` characters from code point `pos`; returns how many. */
  delete(pos: number, count: number): { deleted: number; undo: () => void } {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos > this.doc.length) {
      throw new MeroError('ExecutionFailed', `text '${this.name}': position ${pos} is outside the text (length ${this.doc.length})`)
    }
    const before = { doc: this.doc, deletes: this.deletes }
    const { doc, spans } = this.doc.deleteAt(pos, count)
    if (spans.length === 0) return { deleted: 0, undo: () => {} }
    const deletes = new Map(this.deletes)
    let deleted = 0
    for (const s of spans) {
      const cur = deletes.get(s.run.key)
      deletes.set(s.run.key, { run: s.run, ranges: unionRanges(cur?.ranges ?? [], [s.start, s.end]) })
      deleted += s.end - s.start
    }
    this.doc = doc
    this.deletes = deletes
    return {
      deleted,
      undo: () => {
        this.doc = before.doc
        this.deletes = before.deletes
      },
    }
  }

  get changed(): boolean {
    return this.inserts.length > 0 || this.deletes.size > 0
  }

  /** The delta's actions for these edits, once its stamp (time, node) is known. */
  actions(time: bigint, node: Uint8Array): Action[] {
    const out: Action[] = []
    for (const { run, origin } of this.inserts) {
      out.push({
        type: 'textInsert',
        text: this.name,
        seq: run.seq,
        origin: origin ? { run: pendingRef(origin.run, time, node), offset: origin.offset } : undefined,
        content: run.text,
      })
    }
    for (const { run, ranges } of this.deletes.values()) {
      const ref = pendingRef(run, time, node)
      // a delta's action lists at most MAX_RANGES ranges: more take several actions (their union)
      for (let i = 0; i < ranges.length; i += 2 * MAX_RANGES) {
        const pairs: [number, number][] = []
        for (let j = i; j < Math.min(ranges.length, i + 2 * MAX_RANGES); j += 2) pairs.push([ranges[j]!, ranges[j + 1]!])
        out.push({ type: 'textDelete', text: this.name, run: ref, ranges: pairs })
      }
    }
    return out
  }
}
