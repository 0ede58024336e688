import { z } from 'zod'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58 } from '../../core/primitives/encoding.js'
import { MeroError } from '../../core/primitives/errors.js'
import { resolveId } from './resolve.js'
import { idOrAlias } from './schemas.js'
import { method, type MethodTable } from './types.js'

/** context.join / context.sync — seed 000's JoinContext and seed 001's SyncManager on demand. */
const context = idOrAlias('context')

function replicator(node: MeroNode) {
  if (!node.contextReplicator) throw new MeroError('Unavailable', 'this node runs without a network')
  return node.contextReplicator
}

export const contextSyncMethods: MethodTable = {
  'context.join': method({
    description: "Join a context of a group this node's identity is a member of: key, application and state from a peer (JoinContext)",
    params: z.object({ context }).strict(),
    handler: ({ context }, { node }) => replicator(node).join(fromBase58(resolveId(node, 'context', context), 'context id', 32)),
  }),
  'context.sync': method({
    description: "Sync a context now with every peer that may hold it (SyncContext)",
    params: z.object({ context }).strict(),
    handler: async ({ context }, { node }) => {
      const id = fromBase58(resolveId(node, 'context', context), 'context id', 32)
      const meta = node.contexts.require(id)
      const r = await replicator(node).syncNow(id)
      const after = node.contexts.require(id)
      return { contextId: meta.contextId, ...r, rootHash: after.rootHash, heads: after.heads }
    },
  }),
}
