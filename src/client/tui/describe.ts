import type { NodeEvent } from '../../core/node/events.js'
import { shortId } from '../render.js'

/**
 * One readable line per node event, shared by `meroctl watch` (its event log) and
 * `meroctl events` (human output). Pure: no ink, no I/O.
 */
export type EventLevel = 'info' | 'good' | 'warn' | 'error'

export interface EventDescription {
  text: string
  level: EventLevel
}

const s = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '?' : String(v))
const id = (v: unknown, keep = 8): string => shortId(s(v), keep)

export function describeEvent(e: NodeEvent): EventDescription {
  switch (e.type) {
    case 'heartbeat':
      return { text: `heartbeat: ${e.peers} peer(s), up ${Math.round(e.uptimeMs / 1000)} s`, level: 'info' }
    case 'node.stopping':
      return { text: 'the node is stopping', level: 'warn' }
    case 'group.created':
      return { text: `group ${id(e.groupId)} created by ${id(e.owner)}`, level: 'good' }
    case 'group.deleted':
      return { text: `group ${id(e.groupId)} deleted`, level: 'warn' }
    case 'group.op.applied':
      return { text: `op ${s(e.kind)} applied in group ${id(e.groupId)} (${id(e.opId)}, signer ${id(e.signer)} seq ${e.opSeq})`, level: 'info' }
    case 'group.op.rejected':
      // the reason first: it is what a reader needs and what a narrow terminal must not cut off
      return { text: `op ${s(e.kind)} REJECTED: ${s(e.reason)} (group ${id(e.groupId)}, op ${id(e.opId)}, signer ${id(e.signer)})`, level: 'error' }
    case 'group.op.pending':
      return { text: `op ${id(e.opId)} pending in group ${id(e.groupId)}: ${e.missing} parent(s) missing`, level: 'warn' }
    case 'group.member.added':
      return { text: `member ${id(e.identity)} joined group ${id(e.groupId)} as ${s(e.role)}`, level: 'good' }
    case 'group.member.removed':
      return { text: `member ${id(e.identity)} ${e.reason === 'left' ? 'left' : 'was removed from'} group ${id(e.groupId)}`, level: 'warn' }
    case 'group.member.updated':
      return { text: `member ${id(e.identity)} of group ${id(e.groupId)} is now ${s(e.role)} (capabilities ${e.capabilities})`, level: 'info' }
    case 'group.equivocation':
      return { text: `EQUIVOCATION in group ${id(e.groupId)}: signer ${id(e.signer)} signed two ops with seq ${e.opSeq}`, level: 'error' }
    case 'context.created':
      return { text: `context ${id(e.contextId)} created in group ${id(e.groupId)} (app ${id(e.applicationId)})`, level: 'good' }
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
      return { text: `application ${id(e.applicationId)} fetched from ${id(e.peerId, 10)} (${e.via === 'dht' ? 'found in the DHT' : 'a connected peer'}): ${e.size} bytes in ${e.durationMs} ms`, level: 'good' }
    case 'blob.fetched':
      return { text: `blob ${id(e.blobId)} of context ${id(e.contextId)} fetched from ${id(e.peerId, 10)} (${e.via === 'dht' ? 'found in the DHT' : 'a connected peer'}): ${e.size} bytes in ${e.durationMs} ms`, level: 'good' }
    case 'peer.connected':
      return { text: `peer ${id(e.peerId, 10)} connected`, level: 'good' }
    case 'peer.disconnected':
      return { text: `peer ${id(e.peerId, 10)} disconnected`, level: 'warn' }
    case 'sync.started':
      return { text: `sync with ${id(e.peerId, 10)} started for ${subject(e)} (${s(e.reason)})`, level: 'info' }
    case 'sync.finished':
      if (e.skipped) return { text: `sync with ${id(e.peerId, 10)} for ${subject(e)}: nothing there (${s(e.skipped)})`, level: 'info' }
      return e.ok
        ? { text: `sync with ${id(e.peerId, 10)} finished for ${subject(e)}: ${e.fetched} fetched in ${e.durationMs} ms`, level: 'good' }
        : { text: `sync FAILED: ${s(e.error ?? 'unknown error')} (${subject(e)}, peer ${id(e.peerId, 10)})`, level: 'error' }
    case 'gc.finished':
      return e.error
        ? { text: `garbage collection FAILED: ${s(e.error)}`, level: 'error' }
        : { text: `garbage collection: ${e.tombstones} tombstone(s) in ${e.contexts} context(s), ${e.blobs} blob(s)${e.orphanChunks ? `, ${e.orphanChunks} orphan chunk file(s)` : ''} in ${e.durationMs} ms${e.more ? ' (more next run)' : ''}`, level: 'info' }
    default: {
      // an event type newer than this CLI: show it rather than drop it
      const other = e as { type: string }
      return { text: `${other.type}`, level: 'info' }
    }
  }
}

function subject(e: { groupId?: string; contextId?: string }): string {
  if (e.contextId) return `context ${id(e.contextId)}`
  if (e.groupId) return `group ${id(e.groupId)}`
  return 'the node'
}

/** `12:34:56.789` in local time. */
export function clockTime(ts: number): string {
  const d = new Date(ts)
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/**
 * The shape every streamed event must have before anything reads it (it comes from outside the
 * process): an object with a string type and numeric seq and ts.
 */
export function isNodeEvent(v: unknown): v is NodeEvent {
  if (typeof v !== 'object' || v === null) return false
  const o = v as Record<string, unknown>
  return typeof o.type === 'string' && o.type.length > 0 && Number.isFinite(o.seq) && Number.isFinite(o.ts)
}
