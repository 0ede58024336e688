import { sign as edSign, verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { MAX_JSON_DEPTH, textNestsDeeperThan } from '../primitives/json-depth.js'
import { MAX_FRAME } from '../primitives/limits.js'
import { decodeDelta, deltaId as deltaIdOf, type Delta } from '../state/index.js'

/**
 * How a context delta is authenticated (seed 001's StateDelta), the one home of its format:
 *
 * - payload = borsh{delta bytes (encodeDelta), events JSON}: what the author produced;
 * - signature = Ed25519 by the author over "mero.delta.v1" ‖ context ‖ author ‖ position ‖
 *   SHA-256(payload), so a delta cannot be moved to another context or governance position, and
 *   its events cannot be altered by another key holder.
 *
 * The signed delta (SignedDeltaWire) is what the delta log stores, the sync stream carries as
 * is, and gossip seals under the context key of the delta's governance position, its epoch
 * (sync/sealed-topics.ts): the position names the epoch, and so the key.
 */
export const DELTA_DOMAIN = Buffer.from('mero.delta.v1')
/**
 * The largest payload a delta may have: one sync frame (8 MiB) must carry it with the rest of
 * its signed record, or a peer could never fetch it. An author refuses to commit a larger one.
 */
export const MAX_DELTA_PAYLOAD = MAX_FRAME - 64 * 1024
/** The most group ops a delta's governance position names. */
export const MAX_GOV_POSITION = 256
/** The most signed deltas one sealed batch (a StateDeltas gossip message) carries. */
export const MAX_DELTAS_PER_MESSAGE = 256

/**
 * A context delta as it travels and is kept: the author's signature over the plaintext payload
 * and the governance position (group heads) it was authored at.
 */
export interface SignedDeltaWire {
  author: Buffer
  govPosition: Buffer[]
  signature: Buffer
  payload: Buffer
}

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
  /**
   * The id of the key the gossip message that brought it was sealed under; it must be the key of
   * the delta's own governance position (RemoteDeltas). Undefined from the sync stream.
   */
  sealedUnder?: Buffer
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

export function writeSignedDelta(w: Writer, d: SignedDeltaWire): void {
  w.fixed(d.author, 32).vec(d.govPosition, (h) => w.fixed(h, 32)).fixed(d.signature, 64).bytes(d.payload)
}

export function readSignedDelta(r: Reader): SignedDeltaWire {
  return {
    author: Buffer.from(r.fixed(32)),
    govPosition: r.vec(() => Buffer.from(r.fixed(32)), MAX_GOV_POSITION, 'governance position'),
    signature: Buffer.from(r.fixed(64)),
    payload: Buffer.from(r.bytes(MAX_FRAME)),
  }
}

/** A batch of signed deltas (the plaintext of a sealed StateDeltas message), strictly decoded. */
export function encodeSignedDeltas(deltas: SignedDeltaWire[]): Buffer {
  const w = new Writer()
  w.vec(deltas, (d) => writeSignedDelta(w, d))
  return w.finish()
}

export function decodeSignedDeltas(bytes: Buffer): SignedDeltaWire[] {
  const r = new Reader(bytes, 'sealed deltas')
  const deltas = r.vec(() => readSignedDelta(r), MAX_DELTAS_PER_MESSAGE, 'deltas')
  r.end()
  return deltas
}
