import type { MeroNode } from '../../core/node/node.js'
import { fromBase58, toBase58 } from '../../core/primitives/encoding.js'
import { groupIdToString } from '../../core/primitives/ids.js'
import { MeroError } from '../../core/primitives/errors.js'
import { resolveId } from './resolve.js'
import type { Handlers } from './types.js'

function replicator(node: MeroNode) {
  if (!node.contextReplicator) throw new MeroError('Unavailable', 'this node runs without a network')
  return node.contextReplicator
}

/** context.join / context.sync — seed 000's JoinContext and seed 001's SyncManager on demand. */
export const contextSyncHandlers = {
  // peers that have not seen this node's membership yet refuse (a join right after `group join`,
  // with other members joining at once): ask again for a while, as a join by invitation does
  'context.join': async ({ context }, { node }) => {
    const r = await replicator(node).join(fromBase58(resolveId(node, 'context', context), 'context id', 32), { retryForMs: 10_000 })
    return { contextId: toBase58(r.contextId), groupId: groupIdToString(r.groupId), fetched: r.fetched, method: r.method }
  },
  'context.sync': async ({ context }, { node }) => {
    const id = fromBase58(resolveId(node, 'context', context), 'context id', 32)
    const meta = node.contexts.require(id)
    const r = await replicator(node).syncNow(id)
    const after = node.contexts.require(id)
    return { contextId: toBase58(meta.contextId), ...r, rootHash: after.rootHash.toString('hex'), heads: after.heads.map((h) => h.toString('hex')) }
  },
} satisfies Partial<Handlers<'context'>>
