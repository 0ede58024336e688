import { sign as edSign, verify as edVerify, type KeyPair } from '../crypto/ed25519.js'
import type { Reader, Writer } from '../primitives/borsh.js'
import { MeroError } from '../primitives/errors.js'
import type { GroupStore } from './group-store.js'
import { invitationId, invitationSignatureValid } from './invitation.js'
import { capabilityList, readInvitation, writeInvitationBody, type SignedInvitation } from './ops.js'

/**
 * How a peer proves, on a stream, who it is and that governance lets it read (the sync and blob
 * protocols both open with it): the server sends a fresh nonce, the requester signs
 *
 *   "mero.sync.v2" ‖ nonce ‖ group or context id ‖ its identity ‖ len ‖ the server's peer id
 *
 * as a member, or as the key that will claim an invitation it presents. Naming the server binds
 * the proof to that one peer: a peer that receives a member's proof (say, a removed member the
 * member synced with) cannot present it to another node to read the group.
 */
export const AUTH_DOMAIN = Buffer.from('mero.sync.v2')

/** A requester's answer to the challenge. */
export type StreamAuth =
  | { kind: 'member'; identity: Buffer; signature: Buffer }
  | { kind: 'invitation'; invitation: SignedInvitation; identity: Buffer; signature: Buffer }

/** Answers a challenge (nonce) for a group or context id. */
export type AuthProvider = (nonce: Buffer, scopeId: Buffer) => StreamAuth

/** What a requester signs to answer a challenge. */
export function authMessage(nonce: Buffer, scopeId: Buffer, identity: Buffer, serverPeerId: string): Buffer {
  const server = Buffer.from(serverPeerId, 'utf8')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(Math.min(server.length, 0xffff))
  return Buffer.concat([AUTH_DOMAIN, nonce, scopeId, identity, length, server])
}

/** Proves membership with `key` to the peer `server` (its peer id). */
export function memberAuth(key: KeyPair, server: string): AuthProvider {
  return (nonce, scopeId) => ({ kind: 'member', identity: key.publicKey, signature: edSign(key.privateKey, authMessage(nonce, scopeId, key.publicKey, server)) })
}

/** Presents an invitation to the peer `server`, signing the challenge with the key that will claim it. */
export function invitationAuth(key: KeyPair, invitation: SignedInvitation, server: string): AuthProvider {
  return (nonce, scopeId) => ({ kind: 'invitation', invitation, identity: key.publicKey, signature: edSign(key.privateKey, authMessage(nonce, scopeId, key.publicKey, server)) })
}

/**
 * Why a requester may not read the group (its ops, the topic's key, or the blobs it uses), or
 * undefined when it may: a member, or a joiner with a valid invitation, unexpired by this node's
 * clock, unrevoked, not used up by others, whose inviter may still invite, that signed this
 * node's challenge.
 */
export function checkGroupAuth(groups: GroupStore, groupId: Buffer, nonce: Buffer, auth: StreamAuth, self: string, now = Date.now()): string | undefined {
  if (!edVerify(auth.identity, authMessage(nonce, groupId, auth.identity, self), auth.signature)) return 'the challenge signature does not verify (for this node)'
  if (auth.kind === 'member') return groups.isMember(groupId, auth.identity) ? undefined : 'not a member of the group'
  const inv = auth.invitation
  if (!inv.groupId.equals(groupId)) return 'the invitation is for another group'
  if (!invitationSignatureValid(inv)) return "the invitation's signature does not verify"
  if (Number(inv.expiresAt) < now) return 'the invitation has expired'
  const state = groups.invitationState(groupId, invitationId(inv))
  if (state.revoked) return 'the invitation was revoked'
  // its uses gone to others (whoever used it may come back with it: its claim is on its way)
  if (inv.maxUses !== undefined && state.claimedBy.length >= inv.maxUses && !state.claimedBy.slice(0, inv.maxUses).some((c) => c.equals(auth.identity))) return `the invitation has been used ${state.claimedBy.length} time(s), all it allows`
  const inviter = groups.member(groupId, inv.inviter)
  if (!inviter) return 'the inviter is no longer a member'
  if (inviter.role !== 'admin' && !capabilityList(inviter.capabilities).includes('invite-members')) return 'the inviter may no longer invite'
  return undefined
}

/** Why a requester may not read a context of group `groupId` now, or undefined when it may (members only). */
export function checkContextAuth(groups: GroupStore, groupId: Buffer, contextId: Buffer, nonce: Buffer, auth: StreamAuth, self: string): string | undefined {
  if (auth.kind !== 'member') return 'context sync needs a member of the group'
  if (!edVerify(auth.identity, authMessage(nonce, contextId, auth.identity, self), auth.signature)) return 'the challenge signature does not verify (for this node)'
  return groups.whyNotReader(groupId, contextId, auth.identity)
}

export function writeStreamAuth(w: Writer, auth: StreamAuth): void {
  if (auth.kind === 'member') w.u8(0).fixed(auth.identity, 32).fixed(auth.signature, 64)
  else {
    w.u8(1)
    writeInvitationBody(w, auth.invitation)
    w.fixed(auth.invitation.signature, 64).fixed(auth.identity, 32).fixed(auth.signature, 64)
  }
}

export function readStreamAuth(r: Reader): StreamAuth {
  const kind = r.u8()
  if (kind === 0) return { kind: 'member', identity: Buffer.from(r.fixed(32)), signature: Buffer.from(r.fixed(64)) }
  if (kind === 1) return { kind: 'invitation', invitation: readInvitation(r), identity: Buffer.from(r.fixed(32)), signature: Buffer.from(r.fixed(64)) }
  throw new MeroError('InvalidInput', `unknown auth kind ${kind}`)
}
