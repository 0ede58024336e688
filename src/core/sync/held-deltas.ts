/** Deltas held per context while a snapshot of it is installed; beyond this they are dropped. */
export const MAX_HELD_DELTAS = 10_000

/**
 * Deltas that arrive (by gossip) while a snapshot of their context is being installed wait here
 * and are ingested once it is in. Bounded per context: past `max`, what arrives is dropped and
 * counted (sync fetches it afterwards), so a long snapshot under heavy writes cannot grow the
 * daemon's memory.
 */
export class HeldDeltas<T> {
  private readonly byContext = new Map<string, { batches: { deltas: T[]; from: string }[]; count: number }>()

  constructor(private readonly max = MAX_HELD_DELTAS) {}

  /** Starts holding the context's deltas. */
  hold(context: string): void {
    if (!this.byContext.has(context)) this.byContext.set(context, { batches: [], count: 0 })
  }

  /** Keeps what fits of `deltas` if the context is held: how many were dropped, or undefined if it is not held. */
  add(context: string, deltas: T[], from: string): number | undefined {
    const h = this.byContext.get(context)
    if (!h) return undefined
    const room = Math.max(0, this.max - h.count)
    const kept = deltas.length > room ? deltas.slice(0, room) : deltas
    if (kept.length) {
      h.batches.push({ deltas: kept, from })
      h.count += kept.length
    }
    return deltas.length - kept.length
  }

  /** Stops holding the context: what was held, in arrival order. */
  release(context: string): { deltas: T[]; from: string }[] {
    const h = this.byContext.get(context)
    this.byContext.delete(context)
    return h?.batches ?? []
  }

  /** Deltas held, all contexts together. */
  get size(): number {
    let n = 0
    for (const h of this.byContext.values()) n += h.count
    return n
  }
}
