import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { MeroNode } from '../../src/core/node/node.js'
import { peerIdFromPublicKey } from '../../src/core/primitives/ids.js'
import { Store } from '../../src/core/store/store.js'
import type { MemoryHub } from './memory-network.js'
import { memoryNodeNetwork, type MemoryProviders } from './memory-node-network.js'

/**
 * A started MeroNode over a real store in a temp folder, on the in-memory network; heartbeats are
 * a minute apart so that only what a test does moves state. `stopNetworkedNodes` (afterEach)
 * stops them and removes their folders.
 */
const opened: { store: Store; dir: string; node: MeroNode }[] = []

export async function networkedNode(hub: MemoryHub, providers: MemoryProviders, opts: { snapshotThreshold?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mero-netnode-'))
  const store = await Store.open(join(dir, 'data'))
  const identity = generateKeyPair()
  const network = memoryNodeNetwork(hub, peerIdFromPublicKey(identity.publicKey), providers)
  const node = new MeroNode({ store, identity, blobsDir: join(dir, 'blobs'), network, contextHeartbeatMs: 60_000, groupHeartbeatMs: 60_000, syncTimeoutMs: 2_000, ...opts })
  opened.push({ store, dir, node })
  await node.start()
  return { node, network, blobsDir: join(dir, 'blobs') }
}

export async function stopNetworkedNodes(): Promise<void> {
  for (const { store, dir, node } of opened.splice(0)) {
    await node.stop().catch(() => {})
    await store.close().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}
