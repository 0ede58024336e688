/**
 * Items of a causal DAG (governance ops, context deltas) that arrived before some of their
 * parents, waiting for them (seed 000's pending ops, seed 001's DagStore pending deltas):
 *
 * - `park` an item under its id with the parents it misses; the queue is bounded, the oldest
 *   item is evicted first (sync fetches what was dropped);
 * - when a parent arrives, `arrived` takes out the items that waited for nothing else: the caller
 *   applies them and reports each as arrived in turn, which cascades down a chain;
 * - items parked longer than a TTL are dropped by `expire`.
 *
 * Ids are whatever string form the caller keys its DAG by (hex).
 */
export interface Parked<T> {
  id: string
  item: T
  /** What it still waits for. */
  missing: Set<string>
  /** When it was parked (ms; kept when an item is parked again). */
  since: number
}

export class PendingQueue<T> {
  /** In parking order: the first is the oldest. */
  private readonly byId = new Map<string, Parked<T>>()
  /** missing parent → ids of the items waiting for it */
  private readonly waiting = new Map<string, Set<string>>()
  constructor(private readonly max: number) {}

  get size(): number {
    return this.byId.size
  }

  has(id: string): boolean {
    return this.byId.has(id)
  }

  /** The parked items, oldest first. */
  values(): IterableIterator<Parked<T>> {
    return this.byId.values()
  }

  /** The parents that parked items wait for. */
  waitedFor(): IterableIterator<string> {
    return this.waiting.keys()
  }

  /**
   * Parks an item (replacing one of the same id); evicts the oldest while the queue is full.
   * Returns how many were evicted.
   */
  park(id: string, item: T, missing: Iterable<string>, since = Date.now()): number {
    this.remove(id)
    let evicted = 0
    while (this.byId.size >= this.max) {
      this.remove(this.byId.keys().next().value as string)
      evicted++
    }
    const entry: Parked<T> = { id, item, missing: new Set(missing), since }
    this.byId.set(id, entry)
    for (const m of entry.missing) {
      const s = this.waiting.get(m)
      if (s) s.add(id)
      else this.waiting.set(m, new Set([id]))
    }
    return evicted
  }

  /** Takes an item out of the queue. */
  remove(id: string): Parked<T> | undefined {
    const entry = this.byId.get(id)
    if (!entry) return undefined
    this.byId.delete(id)
    for (const m of entry.missing) {
      const s = this.waiting.get(m)
      s?.delete(id)
      if (s && s.size === 0) this.waiting.delete(m)
    }
    return entry
  }

  /** `parent` is now held: takes out and returns the items that waited for nothing else. */
  arrived(parent: string): Parked<T>[] {
    const ids = this.waiting.get(parent)
    if (!ids) return []
    this.waiting.delete(parent)
    const ready: Parked<T>[] = []
    for (const id of ids) {
      const entry = this.byId.get(id)
      if (!entry) continue
      entry.missing.delete(parent)
      if (entry.missing.size === 0) {
        this.byId.delete(id)
        ready.push(entry)
      }
    }
    return ready
  }

  /** Drops the items parked before `olderThan` (ms); returns how many. */
  expire(olderThan: number): number {
    let n = 0
    for (const entry of [...this.byId.values()]) {
      if (entry.since < olderThan) {
        this.remove(entry.id)
        n++
      }
    }
    return n
  }
}
