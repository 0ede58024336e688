import { MeroError } from '../primitives/errors.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { MAX_FRAME } from '../primitives/limits.js'
import { readStreamAuth, writeStreamAuth, type StreamAuth } from '../governance/stream-auth.js'
import { MAX_GOV_POSITION, readSignedDelta, writeSignedDelta, type SignedDeltaWire } from '../context/delta-envelope.js'

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

export type TopicMessage =
  | { type: 'GroupOp'; op: Buffer }
  | { type: 'GroupHeartbeat'; groupId: Buffer; heads: Buffer[]; opCount: number }
  /** keyId = SHA-256 of the context key; sealed = ChaCha20-Poly1305(key, payload) (crypto/aead.ts). */
  | { type: 'StateDelta'; contextId: Buffer; author: Buffer; govPosition: Buffer[]; keyId: Buffer; sealed: Buffer; signature: Buffer }
  | { type: 'ContextHeartbeat'; contextId: Buffer; rootHash: Buffer; heads: Buffer[]; deltaCount: number }
  /**
   * Several deltas of one context committed together (one event-loop turn), in commit order:
   * sealed = ChaCha20-Poly1305(key, borsh vec of SignedDeltaWire), so authors and positions are sealed
   * too. One message instead of one per delta: the network's per-message costs are shared.
   */
  | { type: 'StateDeltas'; contextId: Buffer; keyId: Buffer; sealed: Buffer }

const TOPIC_TAGS = ['GroupOp', 'GroupHeartbeat', 'StateDelta', 'ContextHeartbeat', 'StateDeltas'] as const

export function encodeTopicMessage(m: TopicMessage): Buffer {
  const w = new Writer().u8(TOPIC_TAGS.indexOf(m.type))
  switch (m.type) {
    case 'GroupOp':
      w.bytes(m.op)
      break
    case 'GroupHeartbeat':
      w.fixed(m.groupId, 32).vec(m.heads, (h) => w.fixed(h, 32)).u32(m.opCount)
      break
    case 'StateDelta':
      w.fixed(m.contextId, 32).fixed(m.author, 32).vec(m.govPosition, (h) => w.fixed(h, 32)).fixed(m.keyId, 32).bytes(m.sealed).fixed(m.signature, 64)
      break
    case 'ContextHeartbeat':
      w.fixed(m.contextId, 32).fixed(m.rootHash, 32).vec(m.heads, (h) => w.fixed(h, 32)).u32(m.deltaCount)
      break
    case 'StateDeltas':
      w.fixed(m.contextId, 32).fixed(m.keyId, 32).bytes(m.sealed)
      break
  }
  return w.finish()
}

export function decodeTopicMessage(data: Uint8Array): TopicMessage {
  if (data.length > MAX_TOPIC_MESSAGE) throw new MeroError('InvalidInput', `message of ${data.length} bytes exceeds ${MAX_TOPIC_MESSAGE}`)
  const r = new Reader(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'message')
  const tag = r.u8()
  let m: TopicMessage
  switch (TOPIC_TAGS[tag]) {
    case 'GroupOp':
      m = { type: 'GroupOp', op: Buffer.from(r.bytes(64 * 1024)) }
      break
    case 'GroupHeartbeat':
      m = { type: 'GroupHeartbeat', groupId: Buffer.from(r.fixed(32)), heads: r.vec(() => Buffer.from(r.fixed(32)), 256, 'heads'), opCount: r.u32() }
      break
    case 'StateDelta':
      m = {
        type: 'StateDelta',
        contextId: Buffer.from(r.fixed(32)),
        author: Buffer.from(r.fixed(32)),
        govPosition: r.vec(() => Buffer.from(r.fixed(32)), MAX_GOV_POSITION, 'governance position'),
        keyId: Buffer.from(r.fixed(32)),
        sealed: Buffer.from(r.bytes(MAX_TOPIC_MESSAGE)),
        signature: Buffer.from(r.fixed(64)),
      }
      break
    case 'ContextHeartbeat':
      m = { type: 'ContextHeartbeat', contextId: Buffer.from(r.fixed(32)), rootHash: Buffer.from(r.fixed(32)), heads: r.vec(() => Buffer.from(r.fixed(32)), 256, 'heads'), deltaCount: r.u32() }
      break
    case 'StateDeltas':
      m = { type: 'StateDeltas', contextId: Buffer.from(r.fixed(32)), keyId: Buffer.from(r.fixed(32)), sealed: Buffer.from(r.bytes(MAX_TOPIC_MESSAGE)) }
      break
    default:
      throw new MeroError('InvalidInput', `unknown message tag ${tag}`)
  }
  r.end()
  return m
}

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
  | { type: 'KeyRequest' }
  | { type: 'ContextKey'; key: Buffer; applicationId: Buffer }
  /** A snapshot of the entity tree, paged; the first page names its boundary (heads and root). */
  | { type: 'SnapshotRequest' }
  | { type: 'SnapshotPage'; records: Buffer[]; more: boolean }

const FRAME_TAGS = [
  'Hello', 'Challenge', 'Auth', 'Denied', 'HeadsRequest', 'Heads', 'OpsRequest', 'Ops', 'Bye', 'DiffRequest', 'Announce',
  'ContextHello', 'ContextHeadsRequest', 'ContextHeads', 'DeltaDiffRequest', 'DeltasRequest', 'Deltas', 'KeyRequest', 'ContextKey', 'SnapshotRequest', 'SnapshotPage',
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
      w.fixed(f.key, 32).fixed(f.applicationId, 32)
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
      f = { type: 'Ops', ops: r.vec(() => Buffer.from(r.bytes(64 * 1024)), MAX_IDS_PER_REQUEST, 'ops'), notFound: r.vec(() => Buffer.from(r.fixed(32)), MAX_IDS_PER_REQUEST, 'ids'), more: r.bool() }
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
      f = { type: FRAME_TAGS[tag] as 'ContextHeadsRequest' | 'KeyRequest' | 'SnapshotRequest' }
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
      f = { type: 'ContextKey', key: Buffer.from(r.fixed(32)), applicationId: Buffer.from(r.fixed(32)) }
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
