import { open as aeadOpen, seal as aeadSeal } from '../crypto/aead.js'
import { sha256 } from '../primitives/hash.js'
import { decodeSignedDeltas, DeltaRejected, encodeSignedDeltas, type SignedDeltaWire } from '../context/delta-envelope.js'
import type { TopicMessage } from './wire.js'

/**
 * Signed deltas on gossip are sealed with ChaCha20-Poly1305 under the context key (AAD = the
 * context id), so that only holders of the key read them; keyId = SHA-256(key) lets a receiver
 * holding several keys pick the right one. The sync stream, which only members open, carries
 * them unsealed.
 */
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
