import type { KeyPair } from '../crypto/ed25519.js'
import type { GroupStore, IssueOptions } from './group-store.js'
import type { GroupOp, SignedOp } from './ops.js'

/**
 * Who authors this node's governance ops: signs them with the node's identity on top of the
 * group's heads, applies and stores them, and (GroupReplicator, when the node has a network)
 * publishes them to the group.
 */
export interface OpIssuer {
  issue(groupId: Uint8Array, op: GroupOp, opts?: IssueOptions): Promise<SignedOp>
}

/** The issuer of a node without a network: sign, apply, store. */
export class LocalIssuer implements OpIssuer {
  constructor(
    private readonly groups: GroupStore,
    private readonly identity: KeyPair,
  ) {}

  async issue(groupId: Uint8Array, op: GroupOp, opts?: IssueOptions): Promise<SignedOp> {
    return this.groups.issue(groupId, this.identity, op, opts)
  }
}
