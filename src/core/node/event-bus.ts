import { preciseNowMs } from '../primitives/clock.js'
import type { NodeEvent, NodeEventPayload } from './events.js'

type Listener = (event: NodeEvent) => void

const now = preciseNowMs

/** Fan-out of node events to in-process listeners (the SSE endpoint, metrics, the sync loop). */
export class EventBus {
  private seq = 0
  private readonly listeners = new Set<Listener>()

  emit(payload: NodeEventPayload & { groupId?: string; contextId?: string }): NodeEvent {
    // stream fields last: a payload can never overwrite the event's own seq and ts
    const event = { ...payload, seq: ++this.seq, ts: now() } as NodeEvent
    for (const l of this.listeners) {
      try {
        l(event)
      } catch {
        // a faulty listener must not break the emitter or the others
      }
    }
    return event
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get listenerCount(): number {
    return this.listeners.size
  }
}
