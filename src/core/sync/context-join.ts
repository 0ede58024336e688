import type { BlobProviders } from '../blobs/blob-providers.js'
import type { ApplicationStore } from '../context/applications.js'
import type { ContextManager } from '../context/context-manager.js'
import type { KeyPair } from '../crypto/ed25519.js'
import type { GroupStore } from '../governance/group-store.js'
import type { OpIssuer } from '../governance/issuer.js'
import { memberAuth } from '../governance/stream-auth.js'
import type { PeerNetwork } from '../network/transport.js'
import type { Emitter } from '../primitives/emitter.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import type { ContextCatchUp } from './context-catch-up.js'
import type { ContextGossipOut } from './context-gossip-out.js'
import { ContextSyncClient } from './context-sync.js'
import type { ReplicationEvents } from './events.js'
import { SYNC_PROTOCOL, type KeyComponent } from './wire.js'

/**
 * JoinContext (seed 000): a member of the context's group that may read it gets the keys of the
 * context's current epoch (and the application, when missing) from a peer that holds them,
 * registers its joining in the group (ContextJoined), follows the topic and syncs the state.
 * While the epoch is stale (someone lost reading and no rotation followed yet) there is no key
 * to fetch: the next rotation seals one to this identity, which has joined by then.
 */
export interface ContextJoinDeps {
  contexts: ContextManager
  groups: GroupStore
  identity: KeyPair
  network: PeerNetwork
  catchUp: ContextCatchUp
  gossip: ContextGossipOut
  issuer: OpIssuer
  applications: ApplicationStore
  /** Where an application this node lacks is fetched from. */
  blobProviders: BlobProviders
  /** Where an application fetched is reported. */
  events: Emitter<ReplicationEvents>
  syncTimeoutMs?: number
}

export interface JoinedContext {
  contextId: Buffer
  groupId: Buffer
  fetched: number
  method: string
}

const hex = (b: Buffer) => b.toString('hex')

export async function joinContext(d: ContextJoinDeps, contextId: Buffer, opts: { retryForMs?: number } = {}): Promise<JoinedContext> {
  const b58 = toBase58(contextId)
  const groupId = d.groups.groupIds().find((g) => d.groups.context(g, contextId) !== undefined)
  if (!groupId) throw new MeroError('ContextNotFound', `no group held by this node registers context ${b58}; join its group first (\`meroctl group join\`)`)
  const me = d.identity.publicKey
  const why = d.groups.whyNotReader(groupId, contextId, me)
  if (why) throw new MeroError('NotAuthorized', `cannot join context ${b58}: ${why}`)
  const registered = d.groups.context(groupId, contextId)!
  const topics = { contextId, groupId }
  const peers = d.catchUp.candidates(topics)
  let source: string | undefined
  let given: { applicationId: Buffer; keys: KeyComponent[] } | undefined
  const scope = hex(contextId)
  const keyed = () => ['ok', 'stale'].includes(d.groups.keyAt(groupId, scope).status)
  // a peer that has not seen our membership yet refuses; with retryForMs, ask again a while
  const deadline = Date.now() + (opts.retryForMs ?? 0)
  for (let attempt = 0; !(keyed() && d.contexts.get(contextId)); attempt++) {
    const errors: string[] = []
    for (const p of d.catchUp.candidates(topics)) {
      try {
        const client = await ContextSyncClient.open(await d.network.open(p, SYNC_PROTOCOL), contextId, memberAuth(d.identity, p), d.syncTimeoutMs)
        const { keys, applicationId } = await client.key()
        await client.close()
        if (!applicationId.equals(registered.applicationId) && !d.groups.targetApplication(groupId)) {
          throw new MeroError('SyncFailed', `the peer runs application ${toBase58(applicationId)}, not the registered ${toBase58(registered.applicationId)}`)
        }
        given = { applicationId, keys }
        source = p
        break
      } catch (e) {
        errors.push(`${p}: ${(e as Error).message}`)
      }
    }
    if (source) break
    if (Date.now() >= deadline) throw new MeroError('PeerUnreachable', `no peer gave the key of context ${b58}${errors.length ? `: ${errors.join('; ')}` : ' (no connected peer holds it)'}`)
    await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000)))
  }
  // the application first: a join that cannot get it stores nothing, not a context it cannot run
  const appId = given?.applicationId ?? d.contexts.require(contextId).applicationId
  await fetchApplication(d, appId, source ? [source, ...peers.filter((p) => p !== source)] : peers, groupId)
  if (given) {
    d.groups.acceptKeys(groupId, scope, given.keys)
    if (!keyed()) throw new MeroError('SyncFailed', `${source} did not give the keys of the current epoch of context ${b58}`)
    d.contexts.adopt(contextId, groupId, given.applicationId, registered.creator)
  }
  const meta = d.contexts.require(contextId)
  if (d.groups.contextAccess(groupId, contextId, me).joined !== true) await d.issuer.issue(groupId, { kind: 'ContextJoined', contextId })
  d.gossip.follow(meta)
  let fetched = 0
  let method = 'none'
  for (const p of source ? [source, ...peers.filter((x) => x !== source)] : peers) {
    try {
      const r = await d.catchUp.sessions.joinOrRun(hex(contextId), p, 'joined')
      fetched += r.fetched
      method = r.method
      break
    } catch {
      // try the next peer; background sync repairs the rest
    }
  }
  return { contextId, groupId, fetched, method }
}

/**
 * Installs an application this node lacks, fetched from `peers` (in order) or other providers,
 * proving membership of the group that uses it.
 */
async function fetchApplication(d: ContextJoinDeps, applicationId: Buffer, peers: string[], groupId: Buffer): Promise<void> {
  if (d.applications.get(applicationId)) return
  // a package comes as its signed bundle (checked by its signature, not its hash): see ApplicationStore
  const fetched = await d.blobProviders.fetch(applicationId, groupId, peers, d.applications.maxFetchBytes, { application: true })
  const meta = await d.applications.installFetched(applicationId, fetched.bytes, `peer:${fetched.peerId}`)
  d.events.emit('application.fetched', { applicationId, groupId, peerId: fetched.peerId, via: fetched.via, size: meta.size, durationMs: fetched.durationMs })
}
