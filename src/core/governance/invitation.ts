import { randomBytes } from 'node:crypto'
import { sign as edSign, verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { readInvitation, writeInvitationBody, type Role, type SignedInvitation } from './ops.js'

/**
 * Invitations: `{groupId, inviter, role, expiresAt, salt}` signed by the inviter over
 * "mero.invite.v1" ‖ borsh(invitation). The id is SHA-256 of those signed bytes. A token is
 * "mero-inv1-" + base58(borsh(signed invitation) ‖ hints), where the unsigned hints are the
 * inviter node's peer id and listen addresses, so a joiner knows whom to dial.
 */
export const INVITE_DOMAIN = Buffer.from('mero.invite.v1')
export const TOKEN_PREFIX = 'mero-inv1-'
const MAX_HINT_ADDRESSES = 16

export interface InvitationHints {
  peerId?: string
  addresses: string[]
}

export interface DecodedToken {
  invitation: SignedInvitation
  hints: InvitationHints
  id: Buffer
}

function signedBytes(inv: Omit<SignedInvitation, 'signature'>): Buffer {
  const w = new Writer()
  writeInvitationBody(w, inv)
  return Buffer.concat([INVITE_DOMAIN, w.finish()])
}

/** A signed invitation; `salt` makes each one unique (random unless given, as reproducible tests do). */
export function createInvitation(inviter: KeyPair, groupId: Buffer, role: Role, expiresAtMs: number, context?: Buffer, salt: Buffer = randomBytes(32)): SignedInvitation {
  const body = { groupId, inviter: inviter.publicKey, role, expiresAt: BigInt(expiresAtMs), salt, ...(context ? { context } : {}) }
  return { ...body, signature: edSign(inviter.privateKey, signedBytes(body)) }
}

export function invitationId(inv: SignedInvitation): Buffer {
  return sha256(signedBytes(inv))
}

export function invitationSignatureValid(inv: SignedInvitation): boolean {
  return edVerify(inv.inviter, signedBytes(inv), inv.signature)
}

export function encodeToken(inv: SignedInvitation, hints: InvitationHints): string {
  const w = new Writer()
  writeInvitationBody(w, inv)
  w.fixed(inv.signature, 64)
  w.option(hints.peerId, (p) => w.string(p))
  w.vec(hints.addresses.slice(0, MAX_HINT_ADDRESSES), (a) => w.string(a))
  return TOKEN_PREFIX + toBase58(w.finish())
}

/** Parses a token; a garbled one gets an InvitationInvalid error saying so. Does not check the signature. */
export function decodeToken(token: string): DecodedToken {
  const text = token.trim()
  if (!text.startsWith(TOKEN_PREFIX)) throw new MeroError('InvitationInvalid', `not a mero invitation token: it should start with '${TOKEN_PREFIX}'`)
  let bytes: Buffer
  try {
    bytes = fromBase58(text.slice(TOKEN_PREFIX.length), 'invitation token')
  } catch {
    throw new MeroError('InvitationInvalid', 'the invitation token is garbled (not base58); copy it again in one piece')
  }
  try {
    const r = new Reader(bytes, 'invitation token')
    const invitation = readInvitation(r)
    const peerId = r.option(() => r.string(128))
    const addresses = r.vec(() => r.string(256), MAX_HINT_ADDRESSES, 'addresses')
    r.end()
    return { invitation, hints: { peerId, addresses }, id: invitationId(invitation) }
  } catch (e) {
    throw new MeroError('InvitationInvalid', `the invitation token is garbled: ${(e as Error).message}`)
  }
}
