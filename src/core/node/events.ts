/**
 * Node events: what the core emits and `GET /events` streams (server-sent events, one JSON
 * object per event). `meroctl watch`, `meroctl events` and `meroctl context watch` read them.
 * Every event has a `type`, a millisecond timestamp, an increasing `seq`, and the group and/or
 * context it concerns (used by the stream's filters).
 */
export interface NodeEventBase {
  seq: number
  ts: number
  groupId?: string
  contextId?: string
}

export type NodeEventPayload =
  | { type: 'heartbeat'; uptimeMs: number; peers: number }
  | { type: 'node.stopping' }
  // governance
  | { type: 'group.created'; groupId: string; owner: string }
  | { type: 'group.deleted'; groupId: string }
  /** `contextId`: the context an op concerns (registered, detached, visibility, allowlist), for the stream's context filter. */
  | { type: 'group.op.applied'; groupId: string; opId: string; kind: string; signer: string; opSeq: number; contextId?: string }
  | { type: 'group.op.rejected'; groupId: string; opId: string; kind: string; signer: string; reason: string }
  | { type: 'group.op.pending'; groupId: string; opId: string; missing: number }
  | { type: 'group.member.added'; groupId: string; identity: string; role: string }
  | { type: 'group.member.removed'; groupId: string; identity: string; reason: 'removed' | 'left' }
  | { type: 'group.member.updated'; groupId: string; identity: string; role: string; capabilities: number }
  | { type: 'group.equivocation'; groupId: string; signer: string; opSeq: number }
  // contexts and state
  | { type: 'context.created'; contextId: string; groupId: string; applicationId: string }
  | { type: 'context.deleted'; contextId: string; groupId?: string }
  | { type: 'context.state.mutated'; contextId: string; rootHash: string; deltaId: string; events: { kind: string; data: unknown }[] }
  | { type: 'context.delta.received'; contextId: string; deltaId: string; from: string }
  | { type: 'context.delta.applied'; contextId: string; deltaId: string; rootHash: string }
  | { type: 'context.delta.rejected'; contextId: string; deltaId: string; reason: string }
  /** `restored`: the bytes of an installed application, missing from the blobs folder, fetched again. */
  | { type: 'application.fetched'; applicationId: string; groupId: string; peerId: string; via: 'peer' | 'dht'; size: number; durationMs: number; restored?: boolean }
  | { type: 'blob.fetched'; blobId: string; contextId: string; peerId: string; via: 'peer' | 'dht'; size: number; durationMs: number }
  // network and sync
  | { type: 'peer.connected'; peerId: string }
  | { type: 'peer.disconnected'; peerId: string }
  | { type: 'sync.started'; groupId?: string; contextId?: string; peerId: string; reason: string }
  /** `skipped`: the peer does not hold the group or context (no replica), so nothing was synced. */
  | { type: 'sync.finished'; groupId?: string; contextId?: string; peerId: string; ok: boolean; fetched: number; durationMs: number; error?: string; method?: string; skipped?: string }
  /** A gossip message refused by validation, with the peer that sent it and why. */
  | { type: 'message.rejected'; peerId: string; topic: 'group' | 'context'; reason: string; groupId?: string; contextId?: string }
  /** A peer's traffic was refused or dropped because a limit was reached (a bounded queue or stream count). */
  | { type: 'peer.rate_limited'; peerId: string; what: string; dropped: number }
  // invitations
  | { type: 'invitation.created'; groupId: string; invitationId: string; role: string; expiresAt: number; contextId?: string }
  // maintenance
  | { type: 'gc.finished'; tombstones: number; blobs: number; orphanChunks: number; contexts: number; durationMs: number; more: boolean; error?: string }

export type NodeEvent = NodeEventBase & NodeEventPayload
export type NodeEventType = NodeEventPayload['type']

/** Does an event concern the given group / context filters (both optional)? */
export function eventMatches(event: NodeEvent, filter: { groupId?: string; contextId?: string }): boolean {
  if (filter.groupId && event.groupId !== filter.groupId) return false
  if (filter.contextId && event.contextId !== filter.contextId) return false
  return true
}
