import type { KeyFault } from './keyring.js'
import type { Role, SignedOp } from './ops.js'

/**
 * What governance reports (GroupStore.events), ids as bytes. The node relays them to its public
 * event stream; the replicators follow membership through them.
 */
export interface GovernanceEvents {
  /** A group's genesis op was applied. */
  'group.created': { groupId: Buffer; owner: Buffer }
  'group.deleted': { groupId: Buffer }
  'op.applied': { groupId: Buffer; op: SignedOp }
  /** Stored, but invalid at its causal cut (it changes nothing). */
  'op.rejected': { groupId: Buffer; op: SignedOp; reason: string }
  /** Waiting for `missing` parents (or for the group itself). */
  'op.pending': { groupId: Buffer; opId: Buffer; missing: number }
  'member.added': { groupId: Buffer; identity: Buffer; role: Role }
  'member.removed': { groupId: Buffer; identity: Buffer; reason: 'removed' | 'left' }
  'member.updated': { groupId: Buffer; identity: Buffer; role: Role; capabilities: number }
  /** Two different ops of one signer with the same seq. */
  equivocation: { groupId: Buffer; signer: Buffer; seq: bigint }
  /** An envelope addressed to this node's identity that it refused (the keys are fetched from a peer instead). */
  'key.rejected': { groupId: Buffer; opId: Buffer; fault: KeyFault }
  /** Keys of a group's scopes reached this node (by an envelope or from a peer). */
  'keys.stored': { groupId: Buffer; scope?: string }
}
