import { randomBytes } from 'node:crypto'
import { sign as edSign, verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { Reader, Writer } from '../primitives/borsh.js'
import { MAX_INVITATION_USES, readInvitation, writeInvitationBody, type Role, type SignedInvitation } from './ops.js'

/**
 * Invitations: `{groupId, inviter, role, expiresAt, salt, context?, maxUses}` signed by the
 * inviter over "mero.invite.v2" ‖ borsh(invitation). The id is SHA-256 of those signed bytes. A
 * token is "mero-inv2-" + base58(borsh(signed invitation) ‖ hints), where the unsigned hints are
 * the inviter node's peer id and listen addresses, so a joiner knows whom to dial.
 *
 * Invitations of version 1 (no number of uses, "mero.invite.v1") are still read inside the
 * version 1 ops a store holds; their tokens are not accepted any more.
 */
export const INVITE_DOMAIN = Buffer.from('mero.invite.v2')
export const LEGACY_INVITE_DOMAIN = Buffer.from('mero.invite.v1')
export const TOKEN_PREFIX = 'mero-inv2-'
const LEGACY_TOKEN_PREFIX = 'mero-inv1-'
/** What a joiner is told of a token that does not decode, whatever the decoder found. */
export const DAMAGED_TOKEN = 'the invitation token is damaged or incomplete; copy it again in one piece, or ask for a new one'
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
  return Buffer.concat([inv.maxUses === undefined ? LEGACY_INVITE_DOMAIN : INVITE_DOMAIN, w.finish()])
}

/**
 * A signed invitation admitting up to `maxUses` identities [1]; `salt` makes each one unique
 * (random unless given, as reproducible tests do).
 */
export function createInvitation(inviter: KeyPair, groupId: Buffer, role: Role, expiresAtMs: number, context?: Buffer, salt: Buffer = randomBytes(32), maxUses = 1): SignedInvitation {
  if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > MAX_INVITATION_USES) throw new MeroError('InvalidInput', `an invitation admits 1 to ${MAX_INVITATION_USES} identities, not ${maxUses}`)
  const body = { groupId, inviter: inviter.publicKey, role, expiresAt: BigInt(expiresAtMs), salt, ...(context ? { context } : {}), maxUses }
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

/**
 * Parses a token; one that does not decode gets InvitationInvalid with DAMAGED_TOKEN (never the
 * decoder's internals). Does not check the signature.
 */
export function decodeToken(token: string): DecodedToken {
  const text = token.trim()
  if (text.startsWith(LEGACY_TOKEN_PREFIX)) throw new MeroError('InvitationInvalid', 'this invitation token was made by an older mero (mero-inv1-); ask for a new one')
  if (!text.startsWith(TOKEN_PREFIX)) throw new MeroError('InvitationInvalid', `not a mero invitation token: it should start with '${TOKEN_PREFIX}'`)
  try {
    const bytes = fromBase58(text.slice(TOKEN_PREFIX.length), 'invitation token')
    const r = new Reader(bytes, 'invitation token')
    const invitation = readInvitation(r)
    const peerId = r.option(() => r.string(128))
    const addresses = r.vec(() => r.string(256), MAX_HINT_ADDRESSES, 'addresses')
    r.end()
    return { invitation, hints: { peerId, addresses }, id: invitationId(invitation) }
  } catch {
    throw new MeroError('InvitationInvalid', DAMAGED_TOKEN)
  }
}
