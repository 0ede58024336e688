/**
 * What replication reports (each replicator's `events`): sync sessions with a peer, for a group
 * or a context (its id as bytes), applications fetched from peers to join a context, and traffic
 * of a peer that was refused (a message validation rejected, deltas dropped at a full queue).
 */
export type SyncScope = 'group' | 'context'

export interface ReplicationEvents {
  'sync.started': { scope: SyncScope; id: Buffer; peerId: string; reason: string }
  /** `skipped`: the peer does not hold the group or context (no replica), so nothing was synced. */
  'sync.finished': { scope: SyncScope; id: Buffer; peerId: string; ok: boolean; fetched: number; durationMs: number; error?: string; method?: string; skipped?: string }
  'application.fetched': { applicationId: Buffer; groupId: Buffer; peerId: string; via: 'peer' | 'dht'; size: number; durationMs: number }
  /** A gossip message refused as its sender's fault (malformed, forged, on the wrong topic, ...). */
  'message.rejected': { scope: SyncScope; peerId: string; reason: string }
  /** Traffic of a peer dropped because a bound was reached. */
  'peer.rate_limited': { peerId: string; what: string; dropped: number }
}
