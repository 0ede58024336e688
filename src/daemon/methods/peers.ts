import { MeroError } from '../../core/primitives/errors.js'
import type { MeroNode } from '../../core/node/node.js'
import type { Handlers } from './types.js'

function network(node: MeroNode) {
  if (!node.network) throw new MeroError('Unavailable', 'this node runs without a p2p network')
  return node.network
}

/** peers.* — the libp2p peers of this node. */
export const peersHandlers = {
  'peers.list': (_p, { node }) => ({ peers: network(node).peers().map((p) => ({ via: 'direct' as const, connections: [], ...p })) }),
  'peers.connect': async ({ address }, { node }) => {
    const peerId = await network(node).connect(address).catch((e) => {
      throw new MeroError('PeerUnreachable', `cannot connect to ${address}: ${(e as Error).message}`)
    })
    return { peerId, address }
  },
} satisfies Handlers<'peers'>
