import { z } from 'zod'
import { MeroError } from '../../core/primitives/errors.js'
import type { MeroNode } from '../../core/node/node.js'
import { method, type MethodTable } from './types.js'

function network(node: MeroNode) {
  if (!node.network) throw new MeroError('Unavailable', 'this node runs without a p2p network')
  return node.network
}

/** peers.* — the libp2p peers of this node. */
export const peersMethods: MethodTable = {
  'peers.list': method({
    description: 'Connected peers and their addresses',
    params: z.object({}).strict(),
    handler: (_p, { node }) => ({ peers: network(node).peers() }),
  }),
  'peers.connect': method({
    description: 'Dial a peer by multiaddr (ending in /p2p/<peer id>)',
    params: z.object({ address: z.string().regex(/^\/(ip4|ip6|dns|dns4|dns6)\/.+\/p2p\/\w+$/, { message: 'expected a multiaddr ending in /p2p/<peer id>' }) }).strict(),
    handler: async ({ address }, { node }) => {
      const peerId = await network(node).connect(address).catch((e) => {
        throw new MeroError('PeerUnreachable', `cannot connect to ${address}: ${(e as Error).message}`)
      })
      return { peerId, address }
    },
  }),
}
