import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { MeroNode, type NodeOptions } from '../../src/core/node/node.js'
import { peerIdFromPublicKey } from '../../src/core/primitives/ids.js'
import { Store } from '../../src/core/store/store.js'
import { fromBase58 } from '../../src/core/primitives/encoding.js'
import { kvStoreWasm } from '../core/runtime/fixtures.js'
import { MemoryHub } from './memory-network.js'
import { memoryNodeNetwork, MemoryProviders } from './memory-node-network.js'

/**
 * A started MeroNode over a real store in a temp folder, on the in-memory network; heartbeats are
 * a minute apart so that only what a test does moves state. `stopNetworkedNodes` (afterEach)
 * stops them and removes their folders.
 */
const opened: { store: Store; dir: string; node: MeroNode }[] = []

export type NetworkedNodeOptions = Partial<Pick<NodeOptions, 'snapshotThreshold' | 'maxHeldDeltas' | 'verifierPool' | 'syncTimeoutMs' | 'maxConcurrentSyncs' | 'gc'>>

export async function networkedNode(hub: MemoryHub, providers: MemoryProviders, opts: NetworkedNodeOptions = {}) {
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

/**
 * A, holding kv-store and a context of a group, and C, a member of that group (its ops shared)
 * that has not joined the context yet, on one in-memory network.
 */
export async function memberBesideContext(opts: { a?: NetworkedNodeOptions; c?: NetworkedNodeOptions } = {}) {
  const hub = new MemoryHub()
  const providers = new MemoryProviders()
  const a = await networkedNode(hub, providers, opts.a)
  const c = await networkedNode(hub, providers, opts.c)
  const app = await a.node.applications.install(kvStoreWasm(), 'kv-store.wasm')
  const groupId = a.node.createGroup()
  await a.node.issueGroupOp(groupId, { kind: 'MemberAdded', member: c.node.identity.publicKey, role: 'member' })
  const contextId = (await a.node.contexts.create(groupId, fromBase58(app.applicationId), {})).contextId
  c.node.groups.ingest(a.node.groups.getOps(groupId, a.node.groups.ops(groupId).map((o) => o.opId)))
  return { hub, providers, a, c, app, groupId, contextId }
}
