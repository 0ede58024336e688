import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hlc } from '../../../src/core/primitives/hlc.js'
import { Store } from '../../../src/core/store/store.js'
import { ContextState } from '../../../src/core/state/context-state.js'
import { decodeDelta, deltaId, encodeDelta, type Delta } from '../../../src/core/state/actions.js'
import type { StateSession } from '../../../src/core/state/session.js'

export const CTX = Buffer.alloc(32, 7)

/** Temporary stores, closed and removed by `cleanup()` (call it in afterEach). */
export class TempStores {
  private readonly open: { store: Store; dir: string }[] = []

  async store(): Promise<{ store: Store; dir: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'mero-state-'))
    const store = await Store.open(join(dir, 'data'))
    const entry = { store, dir }
    this.open.push(entry)
    return entry
  }

  async cleanup(): Promise<void> {
    for (const { store, dir } of this.open.splice(0)) {
      await store.close().catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * A replica: one node (clock) holding one context's state, authoring deltas through sessions.
 * Its deltas name as parents the heads of every delta it holds, its own and received ones alike
 * (the DAG the context log keeps), so causality runs across replicas.
 */
export class Replica {
  readonly state: ContextState
  readonly clock: Hlc
  readonly authored: Buffer[] = []
  /** Every delta it holds (authored or received), in the order it got them. */
  readonly held: Buffer[] = []
  private readonly heldIds = new Set<string>()
  /** Held deltas some held delta names as a parent (so not heads). */
  private readonly parentsHeld = new Set<string>()

  constructor(
    readonly store: Store,
    readonly node: Buffer,
    now?: () => number,
    readonly ctx: Buffer = CTX,
  ) {
    this.state = new ContextState(store, ctx)
    this.clock = new Hlc(node, { now, maxDriftMs: 10 * 365 * 24 * 3600 * 1000 })
  }

  /** Runs an execution and commits it with its delta; returns the encoded delta (or undefined). */
  exec(fn: (s: StateSession) => void): Buffer | undefined {
    const session = this.state.begin(this.node, this.clock)
    fn(session)
    const res = session.finish()
    if (res.actions.length === 0) return undefined
    const delta: Delta = { contextId: this.ctx, parents: this.heads(), hlc: res.hlc!, author: res.author, actions: res.actions }
    const bytes = encodeDelta(delta)
    const batch = this.store.batch()
    const root = session.commitInto(batch)
    batch.put('delta', Buffer.concat([this.ctx, deltaId(bytes)]), bytes)
    batch.write()
    if (!root.equals(this.state.rootHash())) throw new Error('commitInto returned a different root than the store holds')
    this.authored.push(bytes)
    this.hold(bytes, delta.parents)
    return bytes
  }

  /**
   * Set once the replica collected tombstones: from then on a delta it holds is not merged again,
   * as the context's DAG drops it before the state sees it (merging a delta twice is idempotent
   * only while its tombstones are kept).
   */
  collectedTombstones = false

  receive(bytes: Buffer): Buffer {
    if (this.collectedTombstones && this.holds(bytes)) return this.state.rootHash()
    const delta = decodeDelta(bytes)
    const batch = this.store.batch()
    const root = this.state.applyDelta(delta, batch, this.clock)
    batch.write()
    this.hold(bytes, delta.parents)
    return root
  }

  /** The held deltas no held delta names as a parent, in id order. */
  heads(): Buffer[] {
    return [...this.heldIds].filter((id) => !this.parentsHeld.has(id)).sort().map((id) => Buffer.from(id, 'hex'))
  }

  holds(bytes: Buffer): boolean {
    return this.heldIds.has(deltaId(bytes).toString('hex'))
  }

  private hold(bytes: Buffer, parents: Buffer[]): void {
    const id = deltaId(bytes).toString('hex')
    if (this.heldIds.has(id)) return
    this.heldIds.add(id)
    this.held.push(bytes)
    for (const p of parents) this.parentsHeld.add(p.toString('hex'))
  }

  /** Every visible thing, for comparing replicas. */
  view(maps: string[], sets: string[], counters: string[], vectors: string[], storageKeys: Buffer[]): unknown {
    const s = this.state.begin(this.node, this.clock)
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
    return {
      maps: maps.map((m) => s.mapEntries(m).map(([k, v]) => [hex(k), hex(v)])),
      mapLens: maps.map((m) => s.mapLen(m)),
      sets: sets.map((m) => s.setValues(m).map(hex)),
      counters: counters.map((c) => s.counterValue(c).toString()),
      vectors: vectors.map((v) => {
        const n = s.vectorLen(v)
        const out: string[] = []
        for (let i = 0; i < n; i++) out.push(hex(s.vectorGet(v, i) ?? Buffer.from('MISSING')))
        return out
      }),
      storage: storageKeys.map((k) => (s.read(k) ? hex(s.read(k)!) : null)),
    }
  }
}

/** A property run's step: a replica runs one execution, pulls what another authored, or (sync) everyone pulls everything. */
export type Step<O> = { kind: 'exec'; r: number; ops: O[] } | { kind: 'pull'; r: number; from: number } | { kind: 'sync' }

/** An execution that made a delta, and the deltas its replica held then (two are concurrent when neither held the other). */
export interface Exec<O> {
  replica: number
  id: string
  bytes: Buffer
  knows: Set<string>
  ops: O[]
}

export function concurrent<O>(a: Exec<O>, b: Exec<O>): boolean {
  return a.replica !== b.replica && !a.knows.has(b.id) && !b.knows.has(a.id)
}

/** Plays the steps on the replicas (`tick` moves their clocks); returns the executions that made deltas. */
export function play<O>(replicas: Replica[], steps: Step<O>[], apply: (s: StateSession, o: O) => void, tick: () => void): Exec<O>[] {
  const known = replicas.map(() => new Set<string>())
  const execs: Exec<O>[] = []
  const pull = (to: number, from: number) => {
    for (const d of replicas[from]!.authored) {
      const id = d.toString('base64')
      if (known[to]!.has(id)) continue
      known[to]!.add(id)
      replicas[to]!.receive(d)
    }
  }
  for (const st of steps) {
    tick()
    if (st.kind === 'sync') {
      for (let to = 0; to < replicas.length; to++) for (let from = 0; from < replicas.length; from++) if (to !== from) pull(to, from)
    } else if (st.kind === 'pull') {
      if (st.from !== st.r) pull(st.r, st.from)
    } else {
      const d = replicas[st.r]!.exec((s) => st.ops.forEach((o) => apply(s, o)))
      if (d) {
        const id = d.toString('base64')
        execs.push({ replica: st.r, id, bytes: d, knows: new Set(known[st.r]), ops: st.ops })
        known[st.r]!.add(id)
      }
    }
  }
  return execs
}

/** Every delta to every observer, shuffled, with some delivered twice. */
export function deliverEverything(observers: Replica[], deltas: Buffer[], next: () => number): void {
  for (const r of observers) {
    const order = [...deltas, ...deltas.filter(() => next() % 4 === 0)]
    for (let i = order.length - 1; i > 0; i--) {
      const j = next() % (i + 1)
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    for (const d of order) r.receive(d)
  }
}

/** A fresh state on `store` that imports `from`'s snapshot, a few records a page. */
export function importSnapshot(from: ContextState, store: Store): ContextState {
  const fresh = new ContextState(store, from.contextId)
  let after: Buffer | undefined
  for (let guard = 0; guard < 1000; guard++) {
    const page = from.exportSnapshot({ after, limit: 3 })
    const batch = store.batch()
    fresh.importRecords(page.records, batch)
    batch.write()
    if (!page.next) break
    after = page.next
  }
  return fresh
}
