/** A small LRU of compiled modules keyed by application id (hex of the SHA-256). */
export class ModuleCache<T> {
  private readonly entries = new Map<string, T>()
  /** Entries dropped to make room since start (the least recently used first). */
  evicted = 0

  constructor(readonly capacity: number) {}

  get(key: string): T | undefined {
    const v = this.entries.get(key)
    if (v !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, v)
    }
    return v
  }

  set(key: string, value: T): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    while (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value as string)
      this.evicted++
    }
  }

  delete(key: string): boolean {
    return this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }
}
