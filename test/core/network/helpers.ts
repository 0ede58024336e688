import { randomBytes } from 'node:crypto'
import type { GossipMessage } from '../../../src/core/network/host.js'
import { Libp2pNetwork, type NetworkOptions } from '../../../src/core/network/libp2p-network.js'
import { MAX_FRAME } from '../../../src/core/primitives/limits.js'
import { ping, Requests, type RequestOptions } from '../../helpers/network-requests.js'

/** A started network with the test-only request/response and ping tools. */
export type TestNode = Libp2pNetwork & {
  request: Requests['request']
  serveRequests: Requests['serve']
  ping(peerId: string): Promise<number>
}

/** Starts nodes on loopback with ephemeral ports; `stopAll` stops every one (call it in afterEach). */
export class Nodes {
  readonly all: Libp2pNetwork[] = []

  async start(options: Partial<NetworkOptions & RequestOptions> = {}): Promise<TestNode> {
    const { maxFramesPerMessage, requestTimeoutMs, maxOutboundRequests, ...network } = options
    const net = new Libp2pNetwork({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'], ...network })
    const requests = new Requests(net, { maxFrameBytes: network.maxFrameBytes ?? MAX_FRAME, maxFramesPerMessage: maxFramesPerMessage ?? 1024, requestTimeoutMs: requestTimeoutMs ?? 10_000, maxOutboundRequests: maxOutboundRequests ?? 16 })
    const node = Object.assign(net, {
      request: requests.request.bind(requests),
      serveRequests: requests.serve.bind(requests),
      ping: (peerId: string) => ping(net, peerId),
    })
    this.all.push(node)
    await node.start()
    return node
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.all.splice(0).map((n) => n.stop()))
  }
}

export function addressOf(node: Libp2pNetwork): string {
  return `${node.listenAddresses()[0]}/p2p/${node.peerId}`
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every 10 ms until it holds; throws `what` after `ms`. */
export async function waitFor(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** Collects the gossip messages a node receives. */
export function inbox(node: Libp2pNetwork): GossipMessage[] {
  const got: GossipMessage[] = []
  node.on('message', (m) => got.push(m))
  return got
}

/** Connects a to b and waits until each sees the other subscribed to `topic`. */
export async function meshOn(topic: string, a: Libp2pNetwork, b: Libp2pNetwork): Promise<void> {
  if (!a.connectedPeers().includes(b.peerId)) await a.connect(addressOf(b))
  await waitFor(() => a.topicPeers(topic).includes(b.peerId) && b.topicPeers(topic).includes(a.peerId), `${topic} subscriptions to propagate`)
}
