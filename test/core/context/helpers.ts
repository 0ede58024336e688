import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import { MeroNode, type NodeOptions } from '../../../src/core/node/node.js'
import { fromBase58, toBase58 } from '../../../src/core/primitives/encoding.js'
import { Store } from '../../../src/core/store/store.js'
import { verifyDelta, type VerifiedDelta } from '../../../src/core/context/delta-envelope.js'
import { kvStoreWasm } from '../runtime/fixtures.js'

/** In-process nodes over real stores in temp folders; `closeNodes` (afterEach) removes them. */
const opened: { store: Store; dir: string; node: MeroNode }[] = []

export async function newNode(options: Omit<Partial<NodeOptions>, 'store' | 'blobsDir'> = {}): Promise<MeroNode> {
  const dir = mkdtempSync(join(tmpdir(), 'mero-ctx-'))
  const store = await Store.open(join(dir, 'data'))
  const node = new MeroNode({ store, identity: generateKeyPair(), blobsDir: join(dir, 'blobs'), ...options })
  opened.push({ store, dir, node })
  return node
}

export async function closeNodes(): Promise<void> {
  for (const { store, dir, node } of opened.splice(0)) {
    await node.executionPool.stop() // its worker threads
    await store.close().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * What joining a context hands a node, done by hand: the group's ops, the context's metadata, and
 * the keys of its current epoch (as a peer gives them over the sync stream).
 */
export function handOver(from: MeroNode, to: MeroNode, groupId: Buffer, contextId: Buffer): void {
  shareOps(from, to, groupId)
  const meta = from.contexts.require(contextId)
  to.contexts.adopt(contextId, groupId, meta.applicationId, meta.creator)
  const scope = contextId.toString('hex')
  to.groups.acceptKeys(groupId, scope, from.groups.keysToShare(groupId, scope))
}

/** Copies every group op `from` holds to `to`. */
export function shareOps(from: MeroNode, to: MeroNode, groupId: Buffer): void {
  to.groups.ingest(from.groups.getOps(groupId, from.groups.ops(groupId).map((o) => o.opId)))
}

/** The deltas `n` holds that `author` signed (every one with 'any'; parents first), verified as a receiver would. */
export function authored(n: MeroNode, contextId: Buffer, author: MeroNode | 'any' = n): VerifiedDelta[] {
  const ids = n.store
    .scanPrefix('delta', contextId)
    .map(([k]) => k.subarray(32))
    .sort((x, y) => n.contexts.log.header(contextId, x)!.depth - n.contexts.log.header(contextId, y)!.depth)
  return n.contexts.log
    .signed(contextId, ids)
    .map(({ wire }) => verifyDelta(contextId, wire))
    .filter((v) => author === 'any' || v.delta.author.equals(author.identity.publicKey))
}

/**
 * A kv-store context of a group `a` creates, that `b` is a member of and has joined (the key
 * handed over, the group ops shared both ways). No delta of the context is sent to `b`.
 */
export async function sharedContext(a: MeroNode, b: MeroNode): Promise<{ groupId: Buffer; contextId: Buffer; applicationId: string }> {
  return sharedContextAmong([a, b])
}

/** sharedContext for any number of nodes (the first creates it) and any application. */
export async function sharedContextAmong(nodes: MeroNode[], wasm: Buffer = kvStoreWasm(), initArgs: unknown = {}): Promise<{ groupId: Buffer; contextId: Buffer; applicationId: string }> {
  const [a, ...others] = nodes
  let appId = ''
  for (const n of nodes) appId = (await n.applications.install(wasm)).applicationId
  const groupId = a!.createGroup()
  for (const b of others) await a!.issueGroupOp(groupId, { kind: 'MemberAdded', member: b.identity.publicKey, role: 'member' })
  const meta = await a!.contexts.create(groupId, fromBase58(appId, 'application id', 32), initArgs)
  const contextId = meta.contextId
  for (const b of others) {
    handOver(a!, b, groupId, contextId)
    await b.issueGroupOp(groupId, { kind: 'ContextJoined', contextId })
    shareOps(b, a!, groupId)
  }
  for (const b of others) shareOps(a!, b, groupId)
  return { groupId, contextId, applicationId: toBase58(meta.applicationId) }
}
