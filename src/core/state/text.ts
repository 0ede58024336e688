/**
 * A text's characters in document order, materialised from its runs (a replicated growable array,
 * RGA, with runs).
 *
 * The state holds a text as a set of runs (entity.ts): a run is the characters one insertion put
 * in, named by its ref (delta time ‖ node ‖ seq, which sorts by time), with the character it was
 * inserted after (its origin, or none: the start). The order is a pure function of that set: the
 * runs form a tree (each character's children are the runs inserted right after it, and the next
 * character of its own run), read depth first with the children of a character newest first (by
 * ref). A run always has a larger ref than its origin's run (the merge refuses anything else:
 * whoever names a character has seen it, so its clock is past it), which is what lets a new run be
 * placed by the classic RGA walk: right after its origin, past every following character of a
 * newer run. Concurrent insertions at one place thus end in one order on every replica (newest
 * first), and a run typed by one author stays in one piece.
 *
 * Positions count Unicode code points, visible ones only; deleted characters stay (as tombstones)
 * because later insertions may name them.
 *
 * The document is a list of pieces (a slice of one run, all visible or all deleted) in chunks of
 * at most CHUNK pieces, each with its visible count, so finding a position costs the number of
 * chunks plus one chunk. Versions are persistent: a change copies the chunk list and the chunks it
 * touches and leaves the previous version as it was, so a session can edit its own copy of the
 * committed document, and a cache can keep the committed one.
 */

export interface RunInfo {
  /** The run's ref (44 bytes); undefined while it is this session's own (its delta stamp is not taken). */
  readonly ref: Buffer | undefined
  /** latin1 of the ref, or `~seq` for a session's own run. */
  readonly key: string
  /** A session's own run: its seq in the delta. */
  readonly seq: number
  readonly text: string
  /** In code points. */
  readonly length: number
}

interface Piece {
  readonly run: RunInfo
  readonly start: number
  readonly end: number
  readonly visible: boolean
}

interface Chunk {
  readonly pieces: Piece[]
  readonly visible: number
  /** Keys of the runs with a piece here. */
  readonly runs: RunKeys
}

/**
 * A persistent set of run keys: a shared set plus a short list of later additions, so that a
 * version adding one key copies the short list, not the set (copying a chunk's set on every
 * insertion was most of an insertion's cost).
 */
class RunKeys {
  constructor(
    private readonly base: ReadonlySet<string>,
    private readonly added: readonly string[] = [],
  ) {}

  has(key: string): boolean {
    return this.base.has(key) || this.added.includes(key)
  }

  with(keys: readonly string[]): RunKeys {
    const fresh = keys.filter((k) => !this.has(k))
    if (fresh.length === 0) return this
    const added = [...this.added, ...fresh]
    return added.length > 32 ? new RunKeys(new Set([...this.base, ...added])) : new RunKeys(this.base, added)
  }
}

/** A character: its run and its code point offset there. */
export interface CharAt {
  run: RunInfo
  offset: number
}

/** A stored run, as the document is built from it. */
export interface RunRecord {
  ref: Buffer
  /** The origin character (its run's ref and offset), or undefined: the start. */
  origin: { ref: Buffer; offset: number } | undefined
  text: string
  /** Deleted ranges, flattened [start, end, …]. */
  deleted: readonly number[]
}

const CHUNK = 128
const cpCache = new WeakMap<RunInfo, string[]>()

export function runInfo(ref: Buffer | undefined, seq: number, text: string): RunInfo {
  const length = codePoints(text)
  return { ref, key: ref ? ref.toString('latin1') : `~${seq}`, seq, text, length }
}

export function codePoints(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--
        i++
      }
    }
  }
  return n
}

/** Code points [a, b) of a run's text. */
function slice(run: RunInfo, a: number, b: number): string {
  if (run.text.length === run.length) return run.text.slice(a, b)
  let cps = cpCache.get(run)
  if (!cps) cpCache.set(run, (cps = Array.from(run.text)))
  return cps.slice(a, b).join('')
}

/** Orders refs: a session's own runs (no ref yet) are newer than every stored one, then by seq. */
function compareRuns(a: RunInfo, b: RunInfo): number {
  if (a.ref && b.ref) return Buffer.compare(a.ref, b.ref)
  if (a.ref) return -1
  if (b.ref) return 1
  return a.seq - b.seq
}

function makeChunk(pieces: Piece[]): Chunk {
  let visible = 0
  const runs = new Set<string>()
  for (const p of pieces) {
    if (p.visible) visible += p.end - p.start
    runs.add(p.run.key)
  }
  return { pieces, visible, runs: new RunKeys(runs) }
}

/** Pieces of run [a, b) split by its deleted ranges. */
function piecesOf(run: RunInfo, a: number, b: number, deleted: readonly number[], out: Piece[]): void {
  let pos = a
  for (let i = 0; i < deleted.length && pos < b; i += 2) {
    const ds = Math.max(deleted[i]!, pos)
    const de = Math.min(deleted[i + 1]!, b)
    if (de <= ds) continue
    if (ds > pos) out.push({ run, start: pos, end: ds, visible: true })
    out.push({ run, start: ds, end: de, visible: false })
    pos = de
  }
  if (pos < b) out.push({ run, start: pos, end: b, visible: true })
}

export class TextDoc {
  private constructor(
    private readonly chunks: readonly Chunk[],
    /** Visible code points. */
    readonly length: number,
    /** Runs whose origin is not (yet) in the document: left out of it. */
    readonly orphans: number,
  ) {}

  static readonly EMPTY = new TextDoc([], 0, 0)

  /** The document a set of runs gives (the depth-first order described above). */
  static build(records: readonly RunRecord[]): TextDoc {
    interface Node {
      info: RunInfo
      deleted: readonly number[]
      attach?: Map<number, Node[]>
    }
    const nodes = new Map<string, Node>()
    for (const r of records) nodes.set(r.ref.toString('latin1'), { info: runInfo(r.ref, 0, r.text), deleted: r.deleted })
    const roots: Node[] = []
    let orphans = 0
    for (const r of records) {
      const node = nodes.get(r.ref.toString('latin1'))!
      if (!r.origin) {
        roots.push(node)
        continue
      }
      const parent = nodes.get(r.origin.ref.toString('latin1'))
      if (!parent || r.origin.offset >= parent.info.length) {
        orphans++
        continue
      }
      parent.attach ??= new Map()
      const list = parent.attach.get(r.origin.offset)
      if (list) list.push(node)
      else parent.attach.set(r.origin.offset, [node])
    }
    const newestFirst = (a: Node, b: Node) => compareRuns(b.info, a.info)
    roots.sort(newestFirst)
    for (const n of nodes.values()) if (n.attach) for (const list of n.attach.values()) list.sort(newestFirst)

    const pieces: Piece[] = []
    interface Frame {
      node: Node
      pos: number
      offsets: number[]
      next: number
    }
    const stack: Frame[] = []
    const push = (list: Node[]) => {
      for (let i = list.length - 1; i >= 0; i--) {
        const node = list[i]!
        stack.push({ node, pos: 0, offsets: node.attach ? [...node.attach.keys()].sort((a, b) => a - b) : [], next: 0 })
      }
    }
    push(roots)
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!
      if (f.next < f.offsets.length) {
        const k = f.offsets[f.next++]!
        piecesOf(f.node.info, f.pos, k + 1, f.node.deleted, pieces)
        f.pos = k + 1
        push(f.node.attach!.get(k)!)
      } else {
        piecesOf(f.node.info, f.pos, f.node.info.length, f.node.deleted, pieces)
        stack.pop()
      }
    }
    const chunks: Chunk[] = []
    for (let i = 0; i < pieces.length; i += CHUNK) chunks.push(makeChunk(pieces.slice(i, i + CHUNK)))
    let length = 0
    for (const c of chunks) length += c.visible
    return new TextDoc(chunks, length, orphans)
  }

  /** The visible text, or code points [start, end) of it. */
  text(start = 0, end = this.length): string {
    if (start < 0) start = 0
    if (end > this.length) end = this.length
    if (start >= end) return ''
    const out: string[] = []
    let pos = 0
    for (const c of this.chunks) {
      if (pos + c.visible <= start) {
        pos += c.visible
        continue
      }
      for (const p of c.pieces) {
        if (!p.visible) continue
        const n = p.end - p.start
        const a = Math.max(start - pos, 0)
        const b = Math.min(end - pos, n)
        if (a < b) out.push(slice(p.run, p.start + a, p.start + b))
        pos += n
        if (pos >= end) return out.join('')
      }
    }
    return out.join('')
  }

  /** The visible character at position `p` (0 ≤ p < length). */
  charAt(p: number): CharAt {
    const at = this.findVisible(p)
    const piece = this.chunks[at.chunk]!.pieces[at.piece]!
    return { run: piece.run, offset: piece.start + at.offset }
  }

  /**
   * Inserts a session's own run so that it starts at visible position `p`: right after the visible
   * character before `p` (its origin), or at the very start. Its ref will be newer than every
   * stored one, so the RGA places it there too.
   */
  insertAt(p: number, run: RunInfo): { doc: TextDoc; origin: CharAt | undefined } {
    if (p < 0 || p > this.length) throw new RangeError(`position ${p} is outside the text (length ${this.length})`)
    const pieces = [{ run, start: 0, end: run.length, visible: true }]
    if (p === 0) return { doc: this.insertPieces(0, 0, pieces, run.length), origin: undefined }
    // the origin is where the visible character before p is: split there, no search by run
    const at = this.findVisible(p - 1)
    const c = this.chunks[at.chunk]!
    const found = c.pieces[at.piece]!
    const origin = { run: found.run, offset: found.start + at.offset }
    if (origin.offset === found.end - 1) return { doc: this.insertPieces(at.chunk, at.piece + 1, pieces, run.length), origin }
    return { doc: this.splitAt(at.chunk, at.piece, origin.offset).insertPieces(at.chunk, at.piece + 1, pieces, run.length), origin }
  }

  /**
   * Places a stored run (RGA): after its origin character (or at the start), past every following
   * character of a newer run. Undefined when the origin is not in this document, or the document
   * has orphans (then it is built again from the runs).
   */
  integrate(run: RunInfo, origin: { key: string; offset: number } | undefined, deleted: readonly number[]): TextDoc | undefined {
    if (this.orphans > 0) return undefined
    let doc: TextDoc = this
    let chunk = 0
    let piece = 0
    if (origin) {
      const split = this.splitAfter(origin.key, origin.offset)
      if (!split) return undefined
      ;({ doc, chunk, piece } = split)
    }
    // skip the newer runs that follow (later insertions at the same place, and what grew from them)
    for (;;) {
      const c = doc.chunks[chunk]
      if (!c) break
      if (piece >= c.pieces.length) {
        chunk++
        piece = 0
        continue
      }
      if (compareRuns(c.pieces[piece]!.run, run) > 0) piece++
      else break
    }
    if (chunk === doc.chunks.length && chunk > 0) {
      chunk--
      piece = doc.chunks[chunk]!.pieces.length
    }
    const pieces: Piece[] = []
    piecesOf(run, 0, run.length, deleted, pieces)
    let visible = 0
    for (const p of pieces) if (p.visible) visible += p.end - p.start
    return doc.insertPieces(chunk, piece, pieces, visible)
  }

  /** Marks code point ranges (flattened) of a run deleted. Undefined when the run is not in this document. */
  deleteRanges(runKey: string, ranges: readonly number[]): TextDoc | undefined {
    let found = false
    const chunks = [...this.chunks]
    let length = this.length
    for (let ci = 0; ci < chunks.length; ci++) {
      const c = chunks[ci]!
      if (!c.runs.has(runKey)) continue
      let changed = false
      const out: Piece[] = []
      for (const p of c.pieces) {
        if (p.run.key !== runKey) {
          out.push(p)
          continue
        }
        found = true
        if (!p.visible) {
          out.push(p)
          continue
        }
        const parts: Piece[] = []
        piecesOf(p.run, p.start, p.end, ranges, parts)
        if (parts.length === 1 && parts[0]!.visible) {
          out.push(p)
          continue
        }
        changed = true
        for (const q of parts) {
          out.push(q)
          if (!q.visible) length -= q.end - q.start
        }
      }
      if (changed) chunks[ci] = makeChunk(out)
    }
    if (!found) return undefined
    return new TextDoc(rechunk(chunks), length, this.orphans)
  }

  /** Deletes `count` visible characters from position `p`; returns the characters deleted, by run. */
  deleteAt(p: number, count: number): { doc: TextDoc; spans: { run: RunInfo; start: number; end: number }[] } {
    const end = Math.min(p + count, this.length)
    const spans: { run: RunInfo; start: number; end: number }[] = []
    if (p < 0 || p >= end) return { doc: this, spans }
    const chunks = [...this.chunks]
    let pos = 0
    for (let ci = 0; ci < chunks.length && pos < end; ci++) {
      const c = chunks[ci]!
      if (pos + c.visible <= p) {
        pos += c.visible
        continue
      }
      const out: Piece[] = []
      for (const piece of c.pieces) {
        if (!piece.visible || pos >= end) {
          out.push(piece)
          continue
        }
        const n = piece.end - piece.start
        const a = Math.max(p - pos, 0)
        const b = Math.min(end - pos, n)
        pos += n
        if (a >= b) {
          out.push(piece)
          continue
        }
        if (a > 0) out.push({ ...piece, end: piece.start + a })
        out.push({ ...piece, start: piece.start + a, end: piece.start + b, visible: false })
        if (b < n) out.push({ ...piece, start: piece.start + b })
        spans.push({ run: piece.run, start: piece.start + a, end: piece.start + b })
      }
      chunks[ci] = makeChunk(out)
    }
    return { doc: new TextDoc(rechunk(chunks), this.length - (end - p), this.orphans), spans }
  }

  /** Where visible position p is: chunk, piece, offset in the piece. */
  private findVisible(p: number): { chunk: number; piece: number; offset: number } {
    if (!(p >= 0 && p < this.length)) throw new RangeError(`position ${p} is outside the text (length ${this.length})`)
    let pos = 0
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci]!
      if (pos + c.visible <= p) {
        pos += c.visible
        continue
      }
      for (let pi = 0; pi < c.pieces.length; pi++) {
        const piece = c.pieces[pi]!
        if (!piece.visible) continue
        const n = piece.end - piece.start
        if (p < pos + n) return { chunk: ci, piece: pi, offset: p - pos }
        pos += n
      }
    }
    throw new Error('text: visible counts disagree with the pieces')
  }

  /**
   * A version where the character (run, offset) ends a piece, with the place right after it.
   * Undefined when the run has no such character here.
   */
  private splitAfter(runKey: string, offset: number): { doc: TextDoc; chunk: number; piece: number } | undefined {
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci]!
      if (!c.runs.has(runKey)) continue
      for (let pi = 0; pi < c.pieces.length; pi++) {
        const p = c.pieces[pi]!
        if (p.run.key !== runKey || offset < p.start || offset >= p.end) continue
        if (offset === p.end - 1) return { doc: this, chunk: ci, piece: pi + 1 }
        return { doc: this.splitAt(ci, pi, offset), chunk: ci, piece: pi + 1 }
      }
    }
    return undefined
  }

  /** A version where piece `pi` of chunk `ci` ends after the character at run offset `offset`. */
  private splitAt(ci: number, pi: number, offset: number): TextDoc {
    const c = this.chunks[ci]!
    const p = c.pieces[pi]!
    const pieces = [...c.pieces]
    pieces.splice(pi, 1, { ...p, end: offset + 1 }, { ...p, start: offset + 1 })
    const chunks = [...this.chunks]
    chunks[ci] = { pieces, visible: c.visible, runs: c.runs }
    return new TextDoc(chunks, this.length, this.orphans)
  }

  /** A version with `pieces` inserted before piece `piece` of chunk `chunk`. */
  private insertPieces(chunk: number, piece: number, pieces: Piece[], visible: number): TextDoc {
    const chunks = [...this.chunks]
    if (chunks.length === 0) chunks.push(makeChunk([]))
    if (chunk >= chunks.length) {
      chunk = chunks.length - 1
      piece = chunks[chunk]!.pieces.length
    }
    const c = chunks[chunk]!
    const list = [...c.pieces]
    list.splice(piece, 0, ...pieces)
    const next = { pieces: list, visible: c.visible + visible, runs: c.runs.with(pieces.map((p) => p.run.key)) }
    if (list.length > 2 * CHUNK) chunks.splice(chunk, 1, makeChunk(list.slice(0, list.length >> 1)), makeChunk(list.slice(list.length >> 1)))
    else chunks[chunk] = next
    return new TextDoc(chunks, this.length + visible, this.orphans)
  }

  /** Every piece in order (tests compare documents built in different ways). */
  pieces(): { run: string; start: number; end: number; visible: boolean }[] {
    const out: { run: string; start: number; end: number; visible: boolean }[] = []
    for (const c of this.chunks) {
      for (const p of c.pieces) {
        const last = out[out.length - 1]
        const run = p.run.ref ? p.run.ref.toString('hex') : p.run.key
        // adjacent pieces of one run with the same visibility are one stretch, however split
        if (last && last.run === run && last.end === p.start && last.visible === p.visible) last.end = p.end
        else out.push({ run, start: p.start, end: p.end, visible: p.visible })
      }
    }
    return out
  }
}

/** Splits chunks that grew past twice the chunk size (a delete splits pieces too). */
function rechunk(chunks: Chunk[]): Chunk[] {
  if (chunks.every((c) => c.pieces.length <= 2 * CHUNK)) return chunks
  const out: Chunk[] = []
  for (const c of chunks) {
    if (c.pieces.length <= 2 * CHUNK) out.push(c)
    else for (let i = 0; i < c.pieces.length; i += CHUNK) out.push(makeChunk(c.pieces.slice(i, i + CHUNK)))
  }
  return out
}
