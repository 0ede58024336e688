import { DeltaRejected } from '../context/delta-envelope.js'
import { open as aeadOpen, seal as aeadSeal } from '../crypto/aead.js'
import type { HeldKey } from '../governance/keyring.js'
import { MeroError } from '../primitives/errors.js'
import { decodeContextPlain, decodeGroupPlain, encodeContextPlain, encodeGroupPlain, type ContextPlain, type GroupPlain, type TopicMessage } from './wire.js'

/**
 * Topic messages sealed under the key of the sender's epoch (DESIGN §6): ChaCha20-Poly1305 with
 * the scope's tag and id as associated data, so that a message cannot be moved to another topic.
 * The sync stream, which only members (and holders of a valid invitation) open, carries ops and
 * deltas unsealed.
 */
const GROUP_AAD = 0x67 // 'g'
const CONTEXT_AAD = 0x63 // 'c'

function aad(tag: number, id: Buffer): Buffer {
  const out = Buffer.allocUnsafe(33)
  out[0] = tag
  id.copy(out, 1)
  return out
}

export function sealGroupMessage(groupId: Buffer, key: Pick<HeldKey, 'key' | 'keyId'>, plain: GroupPlain): Extract<TopicMessage, { type: 'GroupSealed' }> {
  return { type: 'GroupSealed', groupId, keyId: key.keyId, sealed: aeadSeal(key.key, encodeGroupPlain(plain), aad(GROUP_AAD, groupId)) }
}

/** Opens a group message with the key it names; throws InvalidInput when it does not open or decode. */
export function openGroupMessage(msg: Extract<TopicMessage, { type: 'GroupSealed' }>, key: Buffer): GroupPlain {
  const plain = aeadOpen(key, msg.sealed, aad(GROUP_AAD, msg.groupId))
  if (!plain) throw new MeroError('InvalidInput', 'the group message does not open under the key it names')
  return decodeGroupPlain(plain)
}

export function sealContextMessage(contextId: Buffer, key: Pick<HeldKey, 'key' | 'keyId'>, plain: ContextPlain): Extract<TopicMessage, { type: 'ContextSealed' }> {
  return { type: 'ContextSealed', contextId, keyId: key.keyId, sealed: aeadSeal(key.key, encodeContextPlain(plain), aad(CONTEXT_AAD, contextId)) }
}

/** Opens a context message; throws DeltaRejected('undecryptable' or 'malformed'). */
export function openContextMessage(msg: Extract<TopicMessage, { type: 'ContextSealed' }>, key: Buffer): ContextPlain {
  const plain = aeadOpen(key, msg.sealed, aad(CONTEXT_AAD, msg.contextId))
  if (!plain) throw new DeltaRejected('undecryptable', 'the context message does not open under the key it names')
  try {
    return decodeContextPlain(plain)
  } catch (e) {
    throw new DeltaRejected('malformed', `the sealed context message does not decode: ${(e as Error).message}`)
  }
}
