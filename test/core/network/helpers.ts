import { randomBytes } from 'node:crypto'
import { NetworkNode, type GossipMessage, type NetworkNodeOptions } from '../../../src/core/network/network-node.js'

/** Starts nodes on loopback with ephemeral ports; `stopAll` stops every one (call it in afterEach). */
export class Nodes {
  readonly all: NetworkNode[] = []

  async start(options: Partial<NetworkNodeOptions> = {}): Promise<NetworkNode> {
    const node = new NetworkNode({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/tcp/0'], ...options })
    this.all.push(node)
    await node.start()
    return node
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.all.splice(0).map((n) => n.stop()))
  }
}

export function addressOf(node: NetworkNode): string {
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
export function inbox(node: NetworkNode): GossipMessage[] {
  const got: GossipMessage[] = []
  node.on('message', (m) => got.push(m))
  return got
}

/** Connects a to b and waits until each sees the other subscribed to `topic`. */
export async function meshOn(topic: string, a: NetworkNode, b: NetworkNode): Promise<void> {
  if (!a.connectedPeers().includes(b.peerId)) await a.connect(addressOf(b))
  await waitFor(() => a.topicPeers(topic).includes(b.peerId) && b.topicPeers(topic).includes(a.peerId), `${topic} subscriptions to propagate`)
}
