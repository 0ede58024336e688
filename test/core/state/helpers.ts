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
