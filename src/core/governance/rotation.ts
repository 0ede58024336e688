import { openSealed, SEAL_OVERHEAD, sealTo } from '../crypto/sealed-box.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { writeU64LE } from '../primitives/u64.js'

/**
 * A key rotation: the sidecar a signed op carries when it starts new key epochs (DESIGN §6). For
 * each scope it rotates (the group's topic, or one context) it names the new key's id (SHA-256 of
 * the key), and for each identity that may still read it holds one sealed box with that
 * identity's new keys:
 *
 *   Rotation  = { scopes: [{scope, keyId}], envelopes: [{recipient, scopes: [u16 index], sealed}] }
 *   sealed    = crypto_box_seal(X25519(recipient), binding ‖ key₁ ‖ … ‖ keyₖ)   (one key per listed scope)
 *   binding   = SHA-256("mero.keys.v1" ‖ groupId ‖ signer ‖ seq ‖ borsh(scopes))
 *
 * One envelope per recipient holding all of its scopes is smaller than one per scope (48 bytes of
 * seal each). The binding ties the box to the op carrying it: an envelope copied into another op,
 * or keys that do not hash to the ids the op names, are refused by the recipient (and counted).
 * The recipients and their scopes are public to whoever reads the op (the group's members): the
 * fold checks that every recipient may read what it is given.
 */
export interface RotatedScope {
  /** The context this key seals; undefined: the group's topic. */
  contextId?: Buffer
  keyId: Buffer
}

export interface KeyEnvelope {
  recipient: Buffer
  /** Indices into the rotation's scopes, strictly increasing. */
  scopes: number[]
  sealed: Buffer
}

export interface Rotation {
  scopes: RotatedScope[]
  envelopes: KeyEnvelope[]
}

export const KEYS_DOMAIN = Buffer.from('mero.keys.v1')
export const MAX_ROTATED_SCOPES = 1024
export const MAX_ENVELOPES = 4096
export const KEY_BYTES = 32
export const GROUP_SCOPE = 'group'

/** A scope as maps and the fold name it: 'group', or the context id in hex. */
export function scopeKey(s: { contextId?: Buffer }): string {
  return s.contextId ? s.contextId.toString('hex') : GROUP_SCOPE
}

/** The sealed size of an envelope carrying `n` keys. */
export function sealedSize(n: number): number {
  return SEAL_OVERHEAD + 32 + KEY_BYTES * n
}

function writeScopes(w: Writer, scopes: RotatedScope[]): void {
  w.vec(scopes, (s) => {
    w.option(s.contextId, (c) => w.fixed(c, 32))
    w.fixed(s.keyId, 32)
  })
}

export function writeRotation(w: Writer, r: Rotation): void {
  writeScopes(w, r.scopes)
  w.vec(r.envelopes, (e) => {
    w.fixed(e.recipient, 32)
    w.vec(e.scopes, (i) => {
      w.u8(i & 0xff).u8(i >> 8)
    })
    w.bytes(e.sealed)
  })
}

/** Decodes a rotation strictly: bounded, canonical (scopes distinct; indices increasing; one envelope per recipient; exact sealed sizes). */
export function readRotation(r: Reader): Rotation {
  // (fields are views of the reader's buffer: an op's own allocation, see decodeSignedOp)
  const scopes = r.vec(() => ({ contextId: r.option(() => r.fixed(32)), keyId: r.fixed(32) }), MAX_ROTATED_SCOPES, 'rotated scopes')
  if (scopes.length === 0) throw new MeroError('InvalidInput', 'a rotation rotates at least one scope')
  const seenScopes = new Set<string>()
  for (const s of scopes) {
    const k = scopeKey(s)
    if (seenScopes.has(k)) throw new MeroError('InvalidInput', 'a rotation names a scope twice')
    seenScopes.add(k)
  }
  const seenRecipients = new Set<string>()
  const envelopes = r.vec(
    () => {
      const recipient = r.fixed(32)
      const k = recipient.toString('hex')
      if (seenRecipients.has(k)) throw new MeroError('InvalidInput', 'a rotation has two envelopes for one recipient')
      seenRecipients.add(k)
      const indices = r.vec(() => r.u8() | (r.u8() << 8), MAX_ROTATED_SCOPES, 'envelope scopes')
      if (indices.length === 0) throw new MeroError('InvalidInput', 'a key envelope carries at least one key')
      for (let i = 0; i < indices.length; i++) {
        if (indices[i]! >= scopes.length) throw new MeroError('InvalidInput', 'a key envelope names a scope the rotation does not rotate')
        if (i > 0 && indices[i]! <= indices[i - 1]!) throw new MeroError('InvalidInput', "a key envelope's scopes are not in increasing order")
      }
      const sealed = r.bytes(sealedSize(MAX_ROTATED_SCOPES))
      if (sealed.length !== sealedSize(indices.length)) throw new MeroError('InvalidInput', `a key envelope of ${indices.length} key(s) is ${sealedSize(indices.length)} bytes, not ${sealed.length}`)
      return { recipient, scopes: indices, sealed }
    },
    MAX_ENVELOPES,
    'key envelopes',
  )
  return { scopes, envelopes }
}

/** What an envelope's plaintext starts with: it ties the keys to the op (group, signer, seq) and its scopes. */
export function envelopeBinding(groupId: Buffer, signer: Buffer, seq: bigint, scopes: RotatedScope[]): Buffer {
  const w = new Writer()
  writeScopes(w, scopes)
  const s = Buffer.alloc(8)
  writeU64LE(s, seq, 0)
  return sha256(KEYS_DOMAIN, groupId, signer, s, w.finish())
}

/** The key id of a key: SHA-256 of it. */
export function keyIdOf(key: Uint8Array): Buffer {
  return sha256(key)
}

/**
 * Builds a rotation: the new keys (one per scope), and for each recipient an envelope with the
 * keys of the scopes it may read (`readers(scopeIndex)` lists them).
 */
export function sealRotation(
  binding: { groupId: Buffer; signer: Buffer; seq: bigint },
  scopes: { contextId?: Buffer; key: Buffer }[],
  recipientsOf: (scopeIndex: number) => Buffer[],
): Rotation {
  const rotated: RotatedScope[] = scopes.map((s) => ({ ...(s.contextId ? { contextId: s.contextId } : {}), keyId: keyIdOf(s.key) }))
  const bind = envelopeBinding(binding.groupId, binding.signer, binding.seq, rotated)
  const byRecipient = new Map<string, { recipient: Buffer; scopes: number[] }>()
  scopes.forEach((_, i) => {
    for (const r of recipientsOf(i)) {
      const k = r.toString('hex')
      let e = byRecipient.get(k)
      if (!e) byRecipient.set(k, (e = { recipient: r, scopes: [] }))
      e.scopes.push(i)
    }
  })
  const envelopes = [...byRecipient.values()]
    .sort((a, b) => Buffer.compare(a.recipient, b.recipient))
    .map((e) => ({ recipient: e.recipient, scopes: e.scopes, sealed: sealTo(e.recipient, Buffer.concat([bind, ...e.scopes.map((i) => scopes[i]!.key)])) }))
  return { scopes: rotated, envelopes }
}

export type EnvelopeFault = 'unopenable' | 'wrong_binding' | 'wrong_key'

/**
 * Opens the envelope addressed to `identity` (if any): its keys, by scope, each checked against
 * the id the rotation names. A box that does not open (forged, or sealed to another key), one
 * bound to another op, or keys with other ids, is a fault.
 */
export function openEnvelope(
  rotation: Rotation,
  binding: { groupId: Buffer; signer: Buffer; seq: bigint },
  identity: Buffer,
  x25519: { publicKey: Buffer; secretKey: Buffer },
): { keys: { scope: RotatedScope; key: Buffer }[] } | { fault: EnvelopeFault } | undefined {
  const env = rotation.envelopes.find((e) => e.recipient.equals(identity))
  if (!env) return undefined
  const plain = openSealed(env.sealed, x25519)
  if (!plain || plain.length !== 32 + KEY_BYTES * env.scopes.length) return { fault: 'unopenable' }
  if (!plain.subarray(0, 32).equals(envelopeBinding(binding.groupId, binding.signer, binding.seq, rotation.scopes))) return { fault: 'wrong_binding' }
  const keys = env.scopes.map((i, j) => ({ scope: rotation.scopes[i]!, key: Buffer.from(plain.subarray(32 + j * KEY_BYTES, 32 + (j + 1) * KEY_BYTES)) }))
  if (keys.some((k) => !keyIdOf(k.key).equals(k.scope.keyId))) return { fault: 'wrong_key' }
  return { keys }
}
