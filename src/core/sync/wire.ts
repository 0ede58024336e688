import { MeroError } from '../primitives/errors.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { MAX_FRAME } from '../primitives/limits.js'
import { readStreamAuth, writeStreamAuth, type StreamAuth } from '../governance/stream-auth.js'
import { MAX_DELTAS_PER_MESSAGE, readSignedDelta, writeSignedDelta, type SignedDeltaWire } from '../context/delta-envelope.js'
import { MAX_OP_BYTES } from '../governance/ops.js'

/**
 * Wire formats (DESIGN §9), borsh-tagged unions:
 * - gossip on `mero/group/<hex>` and `mero/ctx/<base58>`: TopicMessage;
 * - frames on the `/mero/sync/1.0.0` stream: SyncFrame (length-prefixed by the transport).
 * Every decoder refuses unknown tags, truncation, trailing bytes and oversized fields.
 */
export const SYNC_PROTOCOL = '/mero/sync/1.0.0'
export const MAX_TOPIC_MESSAGE = 256 * 1024
export const MAX_IDS_PER_REQUEST = 1024
export const MAX_HEADS = 4096
export const groupTopic = (groupIdHex: string) => `mero/group/${groupIdHex}`
export const contextTopic = (contextIdBase58: string) => `mero/ctx/${contextIdBase58}`

/**
 * What travels on a topic: sealed under the key of the sender's epoch for the group's topic or
 * the context (DESIGN §6), so that someone without the key learns sizes and timing only. The
 * topic's id is in clear (the topic names it anyway) and so is the key id (SHA-256 of the key), so
 * that a receiver holding several epochs' keys picks the right one. sealed = ChaCha20-Poly1305
 * (crypto/aead.ts) of a GroupPlain or ContextPlain, AAD = the scope's tag and id.
 */
export type TopicMessage = { type: 'GroupSealed'; groupId: Buffer; keyId: Buffer; sealed: Buffer } | { type: 'ContextSealed'; contextId: Buffer; keyId: Buffer; sealed: Buffer }

/** Inside a GroupSealed message. */
export type GroupPlain = { type: 'GroupOp'; op: Buffer } | { type: 'GroupHeartbeat'; heads: Buffer[]; opCount: number }

/** Inside a ContextSealed message: deltas committed together (one event-loop turn), or a heartbeat. */
export type ContextPlain = { type: 'Deltas'; deltas: SignedDeltaWire[] } | { type: 'ContextHeartbeat'; rootHash: Buffer; heads: Buffer[]; deltaCount: number }

const TOPIC_TAGS = ['GroupSealed', 'ContextSealed'] as const
const GROUP_PLAIN_TAGS = ['GroupOp', 'GroupHeartbeat'] as const
const CONTEXT_PLAIN_TAGS = ['Deltas', 'ContextHeartbeat'] as const
/** The most heads a heartbeat names. */
export const MAX_HEARTBEAT_HEADS = 256

export function encodeTopicMessage(m: TopicMessage): Buffer {
  const w = new Writer(m.sealed.length + 80).u8(TOPIC_TAGS.indexOf(m.type))
  w.fixed(m.type === 'GroupSealed' ? m.groupId : m.contextId, 32).fixed(m.keyId, 32).bytes(m.sealed)
  return w.finish()
}

export function decodeTopicMessage(data: Uint8Array): TopicMessage {
  if (data.length > MAX_TOPIC_MESSAGE) throw new MeroError('InvalidInput', `message of ${data.length} bytes exceeds ${MAX_TOPIC_MESSAGE}`)
  const r = new Reader(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'message')
  const tag = r.u8()
  const type = TOPIC_TAGS[tag]
  if (!type) throw new MeroError('InvalidInput', `unknown message tag ${tag}`)
  const id = Buffer.from(r.fixed(32))
  const keyId = Buffer.from(r.fixed(32))
  const sealed = Buffer.from(r.bytes(MAX_TOPIC_MESSAGE))
  r.end()
  return type === 'GroupSealed' ? { type, groupId: id, keyId, sealed } : { type, contextId: id, keyId, sealed }
}

export function encodeGroupPlain(m: GroupPlain): Buffer {
  const w = new Writer(m.type === 'GroupOp' ? m.op.length + 8 : 256).u8(GROUP_PLAIN_TAGS.indexOf(m.type))
  if (m.type === 'GroupOp') w.bytes(m.op)
  else w.vec(m.heads, (h) => w.fixed(h, 32)).u32(m.opCount)
  return w.finish()
}

export function decodeGroupPlain(data: Buffer): GroupPlain {
  const r = new Reader(data, 'group message')
  const tag = r.u8()
  let m: GroupPlain
  switch (GROUP_PLAIN_TAGS[tag]) {
    case 'GroupOp':
      m = { type: 'GroupOp', op: Buffer.from(r.bytes(MAX_OP_BYTES)) }
      break
    case 'GroupHeartbeat':
      m = { type: 'GroupHeartbeat', heads: r.vec(() => Buffer.from(r.fixed(32)), MAX_HEARTBEAT_HEADS, 'heads'), opCount: r.u32() }
      break
    default:
      throw new MeroError('InvalidInput', `unknown group message tag ${tag}`)
  }
  r.end()
  return m
}

export function encodeContextPlain(m: ContextPlain): Buffer {
  const w = new Writer(m.type === 'Deltas' ? 256 + m.deltas.reduce((n, d) => n + d.payload.length + 140 + 32 * d.govPosition.length, 0) : 256).u8(CONTEXT_PLAIN_TAGS.indexOf(m.type))
  if (m.type === 'Deltas') w.vec(m.deltas, (d) => writeSignedDelta(w, d))
  else w.fixed(m.rootHash, 32).vec(m.heads, (h) => w.fixed(h, 32)).u32(m.deltaCount)
  return w.finish()
}

export function decodeContextPlain(data: Buffer): ContextPlain {
  const r = new Reader(data, 'context message')
  const tag = r.u8()
  let m: ContextPlain
  switch (CONTEXT_PLAIN_TAGS[tag]) {
    case 'Deltas':
      m = { type: 'Deltas', deltas: r.vec(() => readSignedDelta(r), MAX_DELTAS_PER_MESSAGE, 'deltas') }
      if (m.deltas.length === 0) throw new MeroError('InvalidInput', 'context message: a Deltas message without deltas')
      break
    case 'ContextHeartbeat':
      m = { type: 'ContextHeartbeat', rootHash: Buffer.from(r.fixed(32)), heads: r.vec(() => Buffer.from(r.fixed(32)), MAX_HEARTBEAT_HEADS, 'heads'), deltaCount: r.u32() }
      break
    default:
      throw new MeroError('InvalidInput', `unknown context message tag ${tag}`)
  }
  r.end()
  return m
}

/** One key of a scope's epoch, as a peer hands it over: the rotation that started it, and the key. */
export interface KeyComponent {
  rotation: Buffer
  key: Buffer
}

/** The most keys one frame carries (an epoch's frontier, whose concurrent rotations are few). */
export const MAX_KEY_COMPONENTS = 64

export type SyncFrame =
  | { type: 'Hello'; groupId: Buffer }
  | { type: 'Challenge'; nonce: Buffer }
  | { type: 'Auth'; auth: StreamAuth }
  | { type: 'Denied'; reason: string }
  | { type: 'HeadsRequest' }
  | { type: 'Heads'; heads: Buffer[]; opCount: number }
  | { type: 'OpsRequest'; ids: Buffer[] }
  | { type: 'Ops'; ops: Buffer[]; notFound: Buffer[]; more: boolean }
  | { type: 'Bye' }
  /** "Send me every op that is not an ancestor of these heads", answered by pages of Ops. */
  | { type: 'DiffRequest'; have: Buffer[] }
  /** "I hold these heads: pull from me" (a joiner tells its inviter before gossip reaches it). */
  | { type: 'Announce'; heads: Buffer[] }
  // context sync (context-sync.ts): opened by ContextHello, then Challenge/Auth as for groups
  | { type: 'ContextHello'; contextId: Buffer }
  | { type: 'ContextHeadsRequest' }
  /** depths[i] is the DAG depth of heads[i] (a snapshot's boundary is stored with it). */
  | { type: 'ContextHeads'; heads: Buffer[]; depths: number[]; rootHash: Buffer; deltaCount: number }
  /** "Send me every delta that is not an ancestor of these heads", answered by pages of Deltas. */
  | { type: 'DeltaDiffRequest'; have: Buffer[] }
  | { type: 'DeltasRequest'; ids: Buffer[] }
  | { type: 'Deltas'; deltas: SignedDeltaWire[]; more: boolean }
  /** The keys of the context's current epoch (the frontier's), and the application it runs. */
  | { type: 'KeyRequest' }
  | { type: 'ContextKey'; keys: KeyComponent[]; applicationId: Buffer }
  /** On a group stream: the keys of the group topic's current epoch. */
  | { type: 'GroupKeysRequest' }
  | { type: 'GroupKeys'; keys: KeyComponent[] }
  /** A snapshot of the entity tree, paged; the first page names its boundary (heads and root). */
  | { type: 'SnapshotRequest' }
  | { type: 'SnapshotPage'; records: Buffer[]; more: boolean }

const FRAME_TAGS = [
  'Hello', 'Challenge', 'Auth', 'Denied', 'HeadsRequest', 'Heads', 'OpsRequest', 'Ops', 'Bye', 'DiffRequest', 'Announce',
  'ContextHello', 'ContextHeadsRequest', 'ContextHeads', 'DeltaDiffRequest', 'DeltasRequest', 'Deltas', 'KeyRequest', 'ContextKey', 'SnapshotRequest', 'SnapshotPage',
  'GroupKeysRequest', 'GroupKeys',
] as const

export const MAX_DELTAS_PER_PAGE = 2048
export const MAX_SNAPSHOT_RECORDS_PER_PAGE = 8192

export function encodeFrame(f: SyncFrame): Buffer {
  const w = new Writer().u8(FRAME_TAGS.indexOf(f.type))
  switch (f.type) {
    case 'Hello':
      w.fixed(f.groupId, 32)
      break
    case 'Challenge':
      w.fixed(f.nonce, 32)
      break
    case 'Auth':
      writeStreamAuth(w, f.auth)
      break
    case 'Denied':
      w.string(f.reason)
      break
    case 'HeadsRequest':
    case 'Bye':
      break
    case 'Heads':
      w.vec(f.heads, (h) => w.fixed(h, 32)).u32(f.opCount)
      break
    case 'OpsRequest':
      w.vec(f.ids, (h) => w.fixed(h, 32))
      break
    case 'Ops':
      w.vec(f.ops, (o) => w.bytes(o)).vec(f.notFound, (h) => w.fixed(h, 32)).u8(f.more ? 1 : 0)
      break
    case 'DiffRequest':
      w.vec(f.have, (h) => w.fixed(h, 32))
      break
    case 'Announce':
      w.vec(f.heads, (h) => w.fixed(h, 32))
      break
    case 'ContextHello':
      w.fixed(f.contextId, 32)
      break
    case 'ContextHeadsRequest':
    case 'KeyRequest':
    case 'SnapshotRequest':
    case 'GroupKeysRequest':
      break
    case 'GroupKeys':
      writeKeys(w, f.keys)
      break
    case 'ContextHeads':
      w.vec(f.heads, (h) => w.fixed(h, 32)).vec(f.depths, (d) => w.u64(BigInt(d))).fixed(f.rootHash, 32).u32(f.deltaCount)
      break
    case 'DeltaDiffRequest':
      w.vec(f.have, (h) => w.fixed(h, 32))
      break
    case 'DeltasRequest':
      w.vec(f.ids, (h) => w.fixed(h, 32))
      break
    case 'Deltas':
      w.vec(f.deltas, (d) => writeSignedDelta(w, d)).u8(f.more ? 1 : 0)
      break
    case 'ContextKey':
      writeKeys(w, f.keys)
      w.fixed(f.applicationId, 32)
      break
    case 'SnapshotPage':
      w.vec(f.records, (rec) => w.bytes(rec)).u8(f.more ? 1 : 0)
      break
  }
  return w.finish()
}

export function decodeFrame(data: Uint8Array): SyncFrame {
  if (data.length > MAX_FRAME) throw new MeroError('InvalidInput', `frame of ${data.length} bytes exceeds ${MAX_FRAME}`)
  const r = new Reader(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'frame')
  const tag = r.u8()
  let f: SyncFrame
  switch (FRAME_TAGS[tag]) {
    case 'Hello':
      f = { type: 'Hello', groupId: Buffer.from(r.fixed(32)) }
      break
    case 'Challenge':
      f = { type: 'Challenge', nonce: Buffer.from(r.fixed(32)) }
      break
    case 'Auth':
      f = { type: 'Auth', auth: readStreamAuth(r) }
      break
    case 'Denied':
      f = { type: 'Denied', reason: r.string(1024) }
      break
    case 'HeadsRequest':
      f = { type: 'HeadsRequest' }
      break
    case 'Bye':
      f = { type: 'Bye' }
      break
    case 'Heads':
      f = { type: 'Heads', heads: r.vec(() => Buffer.from(r.fixed(32)), 4096, 'heads'), opCount: r.u32() }
      break
    case 'OpsRequest':
      f = { type: 'OpsRequest', ids: r.vec(() => Buffer.from(r.fixed(32)), MAX_IDS_PER_REQUEST, 'ids') }
      break
    case 'Ops':
      f = { type: 'Ops', ops: r.vec(() => Buffer.from(r.bytes(MAX_OP_BYTES)), MAX_IDS_PER_REQUEST, 'ops'), notFound: r.vec(() => Buffer.from(r.fixed(32)), MAX_IDS_PER_REQUEST, 'ids'), more: r.bool() }
      break
    case 'DiffRequest':
      f = { type: 'DiffRequest', have: r.vec(() => Buffer.from(r.fixed(32)), 4096, 'heads') }
      break
    case 'Announce':
      f = { type: 'Announce', heads: r.vec(() => Buffer.from(r.fixed(32)), 4096, 'heads') }
      break
    case 'ContextHello':
      f = { type: 'ContextHello', contextId: Buffer.from(r.fixed(32)) }
      break
    case 'ContextHeadsRequest':
    case 'KeyRequest':
    case 'SnapshotRequest':
    case 'GroupKeysRequest':
      f = { type: FRAME_TAGS[tag] as 'ContextHeadsRequest' | 'KeyRequest' | 'SnapshotRequest' | 'GroupKeysRequest' }
      break
    case 'GroupKeys':
      f = { type: 'GroupKeys', keys: readKeys(r) }
      break
    case 'ContextHeads': {
      const heads = r.vec(() => Buffer.from(r.fixed(32)), MAX_HEADS, 'heads')
      const depths = r.vec(() => Number(r.u64()), MAX_HEADS, 'depths')
      if (depths.length !== heads.length) throw new MeroError('InvalidInput', 'frame: one depth per head expected')
      if (depths.some((d) => !Number.isSafeInteger(d))) throw new MeroError('InvalidInput', 'frame: a head depth is out of range')
      f = { type: 'ContextHeads', heads, depths, rootHash: Buffer.from(r.fixed(32)), deltaCount: r.u32() }
      break
    }
    case 'DeltaDiffRequest':
      f = { type: 'DeltaDiffRequest', have: r.vec(() => Buffer.from(r.fixed(32)), MAX_HEADS, 'heads') }
      break
    case 'DeltasRequest':
      f = { type: 'DeltasRequest', ids: r.vec(() => Buffer.from(r.fixed(32)), MAX_IDS_PER_REQUEST, 'ids') }
      break
    case 'Deltas':
      f = { type: 'Deltas', deltas: r.vec(() => readSignedDelta(r), MAX_DELTAS_PER_PAGE, 'deltas'), more: r.bool() }
      break
    case 'ContextKey':
      f = { type: 'ContextKey', keys: readKeys(r), applicationId: Buffer.from(r.fixed(32)) }
      break
    case 'SnapshotPage':
      f = { type: 'SnapshotPage', records: r.vec(() => Buffer.from(r.bytes(MAX_FRAME)), MAX_SNAPSHOT_RECORDS_PER_PAGE, 'records'), more: r.bool() }
      break
    default:
      throw new MeroError('InvalidInput', `unknown frame tag ${tag}`)
  }
  r.end()
  return f
}

function writeKeys(w: Writer, keys: KeyComponent[]): void {
  w.vec(keys, (k) => w.fixed(k.rotation, 32).fixed(k.key, 32))
}

function readKeys(r: Reader): KeyComponent[] {
  return r.vec(() => ({ rotation: Buffer.from(r.fixed(32)), key: Buffer.from(r.fixed(32)) }), MAX_KEY_COMPONENTS, 'keys')
}
