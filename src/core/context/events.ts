import type { ContextMeta, ReadyDelta } from './context-manager.js'
import type { SignedDeltaWire } from './delta-envelope.js'

/** An application's event, as an execution emitted it (data decoded from JSON when it is JSON). */
export interface AppEvent {
  kind: string
  data: unknown
}

/**
 * What the contexts report (ContextManager.events), ids as bytes; `meta` is the context's
 * metadata after the change. The node relays them to its public event stream; the replicator
 * publishes committed deltas and follows created and deleted contexts through them.
 */
export interface ContextEvents {
  created: { contextId: Buffer; meta: ContextMeta }
  deleted: { contextId: Buffer }
  /** A delta this node authored was committed (its calls' app events with it). */
  committed: { contextId: Buffer; meta: ContextMeta; deltaId: Buffer; wire: SignedDeltaWire; events: AppEvent[] }
  /** Remote deltas were merged, in this order, in one write. */
  applied: { contextId: Buffer; meta: ContextMeta; deltas: readonly ReadyDelta[] }
  /** A remote delta whose author may not write at its governance position. */
  rejected: { contextId: Buffer; deltaId: Buffer; reason: string }
}
