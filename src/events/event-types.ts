import type { NodeEventType } from '../core/node/events.js'

/**
 * The public event stream as its readers name it: every event type, for the filters people
 * type (`meroctl events --type`, its completion). It lives below both meroctl and merod, since
 * meroctl takes only the types of the node's events (core/node/events.ts). The check below
 * keeps the list complete.
 */
export const NODE_EVENT_TYPES = [
  'heartbeat',
  'node.stopping',
  'group.created',
  'group.deleted',
  'group.op.applied',
  'group.op.rejected',
  'group.op.pending',
  'group.member.added',
  'group.member.removed',
  'group.member.updated',
  'group.equivocation',
  'context.created',
  'context.deleted',
  'context.state.mutated',
  'context.delta.received',
  'context.delta.applied',
  'context.delta.rejected',
  'application.fetched',
  'blob.fetched',
  'peer.connected',
  'peer.disconnected',
  'sync.started',
  'sync.finished',
  'message.rejected',
  'peer.rate_limited',
  'invitation.created',
  'gc.finished',
] as const satisfies readonly NodeEventType[]
// a type missing from the list above fails to compile here
const _everyTypeListed: Exclude<NodeEventType, (typeof NODE_EVENT_TYPES)[number]> extends never ? true : never = true
void _everyTypeListed
