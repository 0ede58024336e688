import { formatBytes, formatMs, shortId } from '../core/primitives/human.js'
import type { NodeEvent } from '../core/node/events.js'

/**
 * One readable line per node event, shared by the daemon's log (daemon/operator-log.ts),
 * `meroctl watch` (its event log) and `meroctl events` (human output). Pure: no I/O.
 */
export type EventLevel = 'info' | 'good' | 'warn' | 'error'

export interface EventDescription {
  text: string
  level: EventLevel
}

const s = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '?' : String(v))
const id = (v: unknown): string => shortId(s(v))

/** Names a reader knows things by (a group's replicated alias), where the describer can learn them. */
export interface EventNames {
  group?(groupId: string): string | null | undefined
}

/** "ContextVisibilitySet" → "context visibility set" */
const words = (kind: unknown): string => s(kind).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()

export function describeEvent(e: NodeEvent, names: EventNames = {}): EventDescription {
  const group = (g: unknown): string => {
    const alias = typeof g === 'string' ? names.group?.(g) : undefined
    return alias ? `${alias} (${id(g)})` : id(g)
  }
  switch (e.type) {
    case 'heartbeat':
      return { text: `heartbeat: ${e.peers} peer(s), up ${Math.round(e.uptimeMs / 1000)} s`, level: 'info' }
    case 'node.stopping':
      return { text: 'the node is stopping', level: 'warn' }
    case 'group.created':
      return { text: `group ${group(e.groupId)} created by ${id(e.owner)}`, level: 'good' }
    case 'group.deleted':
      return { text: `group ${group(e.groupId)} deleted`, level: 'warn' }
    case 'group.op.applied':
      return { text: `group ${group(e.groupId)}: ${words(e.kind)} by ${id(e.signer)}${e.contextId ? ` (context ${id(e.contextId)})` : ''} (op ${id(e.opId)}, seq ${e.opSeq})`, level: 'info' }
    case 'group.op.rejected':
      // the reason first: it is what a reader needs and what a narrow terminal must not cut off
      return { text: `op ${s(e.kind)} REJECTED: ${s(e.reason)} (group ${group(e.groupId)}, op ${id(e.opId)}, signer ${id(e.signer)})`, level: 'error' }
    case 'group.op.pending':
      return { text: `op ${id(e.opId)} pending in group ${group(e.groupId)}: ${e.missing} parent(s) missing`, level: 'warn' }
    case 'group.member.added':
      return { text: `member ${id(e.identity)} joined group ${group(e.groupId)} as ${s(e.role)}`, level: 'good' }
    case 'group.member.removed':
      return { text: `member ${id(e.identity)} ${e.reason === 'left' ? 'left' : 'was removed from'} group ${group(e.groupId)}`, level: 'warn' }
    case 'group.member.updated':
      return { text: `member ${id(e.identity)} of group ${group(e.groupId)} is now ${s(e.role)} (capabilities ${e.capabilities})`, level: 'info' }
    case 'group.equivocation':
      return { text: `EQUIVOCATION in group ${group(e.groupId)}: signer ${id(e.signer)} signed two ops with seq ${e.opSeq}`, level: 'error' }
    case 'context.created':
      return { text: `context ${id(e.contextId)} created in group ${group(e.groupId)} (app ${id(e.applicationId)})`, level: 'good' }
    case 'context.deleted':
      return { text: `context ${id(e.contextId)} deleted`, level: 'warn' }
    case 'context.state.mutated': {
      const events = Array.isArray(e.events) ? e.events : []
      const kinds = events.length ? `, events: ${events.map((x) => s(x?.kind)).join(' ')}` : ''
      return { text: `context ${id(e.contextId)} mutated: root ${id(e.rootHash)} (delta ${id(e.deltaId)}${kinds})`, level: 'info' }
    }
    case 'context.delta.received':
      return { text: `delta ${id(e.deltaId)} received for context ${id(e.contextId)} from ${id(e.from)}`, level: 'info' }
    case 'context.delta.applied':
      return { text: `delta ${id(e.deltaId)} applied to context ${id(e.contextId)}: root ${id(e.rootHash)}`, level: 'info' }
    case 'context.delta.rejected':
      return { text: `delta REJECTED: ${s(e.reason)} (context ${id(e.contextId)}, delta ${id(e.deltaId)})`, level: 'error' }
    case 'application.fetched':
      return { text: `application ${id(e.applicationId)} fetched from ${id(e.peerId)} (${e.via === 'dht' ? 'found in the DHT' : 'a connected peer'}): ${formatBytes(e.size)} in ${formatMs(e.durationMs)}`, level: 'good' }
    case 'blob.fetched':
      return { text: `blob ${id(e.blobId)} of context ${id(e.contextId)} fetched from ${id(e.peerId)} (${e.via === 'dht' ? 'found in the DHT' : 'a connected peer'}): ${formatBytes(e.size)} in ${formatMs(e.durationMs)}`, level: 'good' }
    case 'peer.connected':
      return { text: `peer ${id(e.peerId)} connected`, level: 'good' }
    case 'peer.disconnected':
      return { text: `peer ${id(e.peerId)} disconnected`, level: 'warn' }
    case 'sync.started':
      return { text: `sync with ${id(e.peerId)} started for ${subject(e, group)} (${s(e.reason)})`, level: 'info' }
    case 'sync.finished':
      if (e.skipped) return { text: `sync with ${id(e.peerId)} for ${subject(e, group)}: nothing there (${s(e.skipped)})`, level: 'info' }
      return e.ok
        ? { text: `sync with ${id(e.peerId)} finished for ${subject(e, group)}: ${e.fetched} fetched in ${formatMs(e.durationMs)}`, level: 'good' }
        : { text: `sync FAILED: ${s(e.error ?? 'unknown error')} (${subject(e, group)}, peer ${id(e.peerId)})`, level: 'error' }
    case 'message.rejected':
      return { text: `${s(e.topic)} message from peer ${id(e.peerId)} rejected: ${s(e.reason)}`, level: 'warn' }
    case 'peer.rate_limited':
      return { text: `peer ${id(e.peerId)} rate-limited: ${s(e.what)}, ${e.dropped} dropped`, level: 'warn' }
    case 'invitation.created':
      return { text: `invitation ${id(e.invitationId)} created for group ${group(e.groupId)} (role ${s(e.role)}${e.contextId ? `, context ${id(e.contextId)}` : ''}), expires ${new Date(e.expiresAt).toISOString()}`, level: 'info' }
    case 'gc.finished':
      return e.error
        ? { text: `garbage collection FAILED: ${s(e.error)}`, level: 'error' }
        : { text: `garbage collection: ${e.tombstones} tombstone(s) in ${e.contexts} context(s), ${e.blobs} blob(s)${e.orphanChunks ? `, ${e.orphanChunks} orphan chunk file(s)` : ''} in ${formatMs(e.durationMs)}${e.more ? ' (more next run)' : ''}`, level: 'info' }
    default: {
      // an event type newer than this CLI: show it rather than drop it
      const other = e as { type: string }
      return { text: `${other.type}`, level: 'info' }
    }
  }
}

function subject(e: { groupId?: string; contextId?: string }, group: (g: string) => string): string {
  if (e.contextId) return `context ${id(e.contextId)}`
  if (e.groupId) return `group ${group(e.groupId)}`
  return 'the node'
}
