/**
 * A typed event emitter: each part of the core (governance, contexts, replication) emits its own
 * events, with byte ids, and whoever composes the parts subscribes (the node relays them to its
 * public event stream). An event is built only when someone listens (`listens`), so a part
 * nobody watches pays nothing for it. A listener that throws breaks neither the emitter nor the
 * other listeners.
 */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<(event: never) => void>>()

  on<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): () => void {
    let set = this.listeners.get(type)
    if (!set) this.listeners.set(type, (set = new Set()))
    set.add(listener as (event: never) => void)
    return () => {
      set.delete(listener as (event: never) => void)
      if (set.size === 0 && this.listeners.get(type) === set) this.listeners.delete(type)
    }
  }

  /** Whether anyone listens to `type`: build the event only then. */
  listens(type: keyof Events): boolean {
    return this.listeners.has(type)
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.listeners.get(type)
    if (!set) return
    for (const l of set) {
      try {
        ;(l as (event: Events[K]) => void)(event)
      } catch {
        // a faulty listener must not break the emitter or the others
      }
    }
  }
}
