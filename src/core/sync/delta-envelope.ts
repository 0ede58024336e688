import { open as aeadOpen, seal as aeadSeal } from '../crypto/aead.js'
import { sign as edSign, verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { MAX_JSON_DEPTH, textNestsDeeperThan } from '../primitives/json-depth.js'
import { decodeDelta, deltaId as deltaIdOf, type Delta } from '../state/index.js'
import { decodeSignedDeltas, encodeSignedDeltas, MAX_FRAME, MAX_GOV_POSITION, type SignedDeltaWire, type TopicMessage } from './wire.js'

/**
 * How a context delta is authenticated and kept confidential (seed 001's StateDelta broadcast):
 *
 * - payload = borsh{delta bytes (encodeDelta), events JSON}: what the author produced;
 * - signature = Ed25519 by the author over "mero.delta.v1" ‖ context ‖ author ‖ position ‖
 *   SHA-256(payload), so a delta cannot be moved to another context or governance position, and
 *   its events cannot be altered by another key holder;
 * - on gossip the payload is sealed with ChaCha20-Poly1305 under the context key (AAD = context id);
 *   keyId = SHA-256(key) lets a receiver holding several keys pick the right one.
 */
export const DELTA_DOMAIN = Buffer.from('mero.delta.v1')
/**
 * The largest payload a delta may have: one sync frame (8 MiB) must carry it with the rest of
 * its signed record, or a peer could never fetch it. An author refuses to commit a larger one.
 */
export const MAX_DELTA_PAYLOAD = MAX_FRAME - 64 * 1024

export interface DeltaPayload {
  delta: Buffer
  /** The app's events of the execution, as JSON ([{kind, data}]); '[]' when none. */
  events: string
}

/** A delta whose signature, content address and fields were checked. */
export interface VerifiedDelta {
  id: Buffer
  delta: Delta
  wire: SignedDeltaWire
  events: { kind: string; data: unknown }[]
}

export type DeltaFault = 'malformed' | 'bad_signature' | 'wrong_context' | 'undecryptable' | 'unknown_key'

export class DeltaRejected extends MeroError {
  constructor(
    readonly fault: DeltaFault,
    message: string,
  ) {
    super(fault === 'bad_signature' ? 'InvalidSignature' : 'InvalidInput', message)
  }
}

export function encodePayload(p: DeltaPayload): Buffer {
  return new Writer().bytes(p.delta).string(p.events).finish()
}

function decodePayload(bytes: Buffer): DeltaPayload {
  const r = new Reader(bytes, 'delta payload')
  const delta = Buffer.from(r.bytes(bytes.length))
  const events = r.string(MAX_DELTA_PAYLOAD)
  r.end()
  return { delta, events }
}

function signedMessage(contextId: Buffer, author: Buffer, position: Buffer[], payload: Buffer): Buffer {
  const w = new Writer().fixed(DELTA_DOMAIN, DELTA_DOMAIN.length).fixed(contextId, 32).fixed(author, 32)
  w.vec(position, (h) => w.fixed(h, 32))
  return w.fixed(sha256(payload), 32).finish()
}

/** Signs a locally authored delta. */
export function signDelta(identity: KeyPair, contextId: Buffer, govPosition: Buffer[], payload: DeltaPayload): SignedDeltaWire {
  if (govPosition.length > MAX_GOV_POSITION) throw new MeroError('LimitExceeded', `a governance position names at most ${MAX_GOV_POSITION} ops`)
  const bytes = encodePayload(payload)
  return { author: Buffer.from(identity.publicKey), govPosition, signature: edSign(identity.privateKey, signedMessage(contextId, Buffer.from(identity.publicKey), govPosition, bytes)), payload: bytes }
}

/** Checks a signed delta of `contextId` (from gossip after opening, or from the sync stream). */
export function verifyDelta(contextId: Buffer, wire: SignedDeltaWire): VerifiedDelta {
  if (!edVerify(wire.author, signedMessage(contextId, wire.author, wire.govPosition, wire.payload), wire.signature)) {
    throw new DeltaRejected('bad_signature', "the delta's signature does not verify")
  }
  return decodeSigned(contextId, wire)
}

/**
 * verifyDelta for a batch, the signatures checked on the pool's worker threads (catch-up pages):
 * the verified deltas, and the faults of the others.
 */
export async function verifyDeltas(contextId: Buffer, wires: SignedDeltaWire[], pool?: VerifierPool): Promise<{ verified: VerifiedDelta[]; faults: DeltaRejected[] }> {
  if (!pool) {
    const verified: VerifiedDelta[] = []
    const faults: DeltaRejected[] = []
    for (const w of wires) {
      try {
        verified.push(verifyDelta(contextId, w))
      } catch (e) {
        faults.push(e instanceof DeltaRejected ? e : new DeltaRejected('malformed', (e as Error).message))
      }
    }
    return { verified, faults }
  }
  const jobs = wires.map((w) => ({ publicKey: w.author, message: signedMessage(contextId, w.author, w.govPosition, w.payload), signature: w.signature }))
  const ok = await pool.verify(jobs, (j) => edVerify(j.publicKey, j.message, j.signature))
  const verified: VerifiedDelta[] = []
  const faults: DeltaRejected[] = []
  wires.forEach((w, i) => {
    try {
      if (!ok[i]) throw new DeltaRejected('bad_signature', "the delta's signature does not verify")
      verified.push(decodeSigned(contextId, w))
    } catch (e) {
      faults.push(e instanceof DeltaRejected ? e : new DeltaRejected('malformed', (e as Error).message))
    }
  })
  return { verified, faults }
}

function decodeSigned(contextId: Buffer, wire: SignedDeltaWire): VerifiedDelta {
  let payload: DeltaPayload
  let delta: Delta
  try {
    payload = decodePayload(wire.payload)
    delta = decodeDelta(payload.delta)
  } catch (e) {
    throw new DeltaRejected('malformed', `the delta does not decode: ${(e as Error).message}`)
  }
  if (!delta.contextId.equals(contextId)) throw new DeltaRejected('wrong_context', 'the delta belongs to another context')
  if (!delta.author.equals(wire.author)) throw new DeltaRejected('malformed', 'the delta names another author than its signer')
  let events: { kind: string; data: unknown }[]
  try {
    // a list of {kind, data}: deeper than that, the events stream's JSON.stringify would overflow
    if (textNestsDeeperThan(payload.events, MAX_JSON_DEPTH + 2)) throw new Error('nested too deeply')
    events = JSON.parse(payload.events) as { kind: string; data: unknown }[]
    if (!Array.isArray(events)) throw new Error('not a list')
  } catch {
    throw new DeltaRejected('malformed', "the delta's events are not a JSON list (of values nested at most 128 deep)")
  }
  return { id: deltaIdOf(payload.delta), delta, wire, events }
}

export function keyIdOf(key: Uint8Array): Buffer {
  return sha256(key)
}

/** The gossip message for a signed delta, sealed under the context key. */
export function sealDelta(contextId: Buffer, key: Uint8Array, wire: SignedDeltaWire): Extract<TopicMessage, { type: 'StateDelta' }> {
  return { type: 'StateDelta', contextId, author: wire.author, govPosition: wire.govPosition, keyId: keyIdOf(key), sealed: aeadSeal(key, wire.payload, contextId), signature: wire.signature }
}

/** Opens a gossiped delta with the context key; throws DeltaRejected('undecryptable') otherwise. */
export function openDelta(msg: Extract<TopicMessage, { type: 'StateDelta' }>, key: Uint8Array): SignedDeltaWire {
  if (!keyIdOf(key).equals(msg.keyId)) throw new DeltaRejected('unknown_key', 'the delta is sealed under a key this node does not hold')
  const payload = aeadOpen(key, msg.sealed, msg.contextId)
  if (!payload) throw new DeltaRejected('undecryptable', 'the delta does not decrypt under the context key')
  return { author: msg.author, govPosition: msg.govPosition, signature: msg.signature, payload }
}

/** The gossip message for several signed deltas of one context, sealed together. */
export function sealDeltas(contextId: Buffer, key: Uint8Array, wires: SignedDeltaWire[]): Extract<TopicMessage, { type: 'StateDeltas' }> {
  return { type: 'StateDeltas', contextId, keyId: keyIdOf(key), sealed: aeadSeal(key, encodeSignedDeltas(wires), contextId) }
}

/** Opens a StateDeltas message: its signed deltas (signatures not yet checked). */
export function openDeltas(msg: Extract<TopicMessage, { type: 'StateDeltas' }>, key: Uint8Array): SignedDeltaWire[] {
  if (!keyIdOf(key).equals(msg.keyId)) throw new DeltaRejected('unknown_key', 'the deltas are sealed under a key this node does not hold')
  const plain = aeadOpen(key, msg.sealed, msg.contextId)
  if (!plain) throw new DeltaRejected('undecryptable', 'the deltas do not decrypt under the context key')
  try {
    return decodeSignedDeltas(plain)
  } catch (e) {
    throw new DeltaRejected('malformed', `the sealed deltas do not decode: ${(e as Error).message}`)
  }
}
