/**
 * A binary max-heap by a numeric priority: the DAG walks (governance ancestry by generation,
 * context deltas by depth) visit children before parents by always taking the deepest next.
 */
export class MaxHeap<T> {
  private readonly items: T[] = []

  constructor(private readonly priority: (item: T) => number) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  /** Every item, in no particular order. */
  values(): readonly T[] {
    return this.items
  }

  push(item: T): void {
    const a = this.items
    const p = this.priority
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const up = (i - 1) >> 1
      if (p(a[up]!) >= p(a[i]!)) break
      ;[a[up], a[i]] = [a[i]!, a[up]!]
      i = up
    }
  }

  pop(): T | undefined {
    const a = this.items
    const p = this.priority
    const top = a[0]
    const last = a.pop()
    if (a.length && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && p(a[l]!) > p(a[m]!)) m = l
        if (r < a.length && p(a[r]!) > p(a[m]!)) m = r
        if (m === i) break
        ;[a[m], a[i]] = [a[i]!, a[m]!]
        i = m
      }
    }
    return top
  }
}
