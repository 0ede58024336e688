/**
 * What replication reports (each replicator's `events`): sync sessions with a peer, for a group
 * or a context (its id as bytes), and applications fetched from peers to join a context.
 */
export type SyncScope = 'group' | 'context'

export interface ReplicationEvents {
  'sync.started': { scope: SyncScope; id: Buffer; peerId: string; reason: string }
  /** `skipped`: the peer does not hold the group or context (no replica), so nothing was synced. */
  'sync.finished': { scope: SyncScope; id: Buffer; peerId: string; ok: boolean; fetched: number; durationMs: number; error?: string; method?: string; skipped?: string }
  'application.fetched': { applicationId: Buffer; groupId: Buffer; peerId: string; via: 'peer' | 'dht'; size: number; durationMs: number }
}
