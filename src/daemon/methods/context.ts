import type { ContextManager, ContextMeta } from '../../core/context/context-manager.js'
import { contextMetaJson } from '../../core/context/context-meta.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58, toBase58 } from '../../core/primitives/encoding.js'
import { MeroError } from '../../core/primitives/errors.js'
import { groupIdToString } from '../../core/primitives/ids.js'
import { resolveGroup, resolveId, resolveIdentity } from './resolve.js'
import type { Handlers } from './types.js'

function contexts(node: MeroNode): ContextManager {
  return node.contexts
}

/**
 * Context ids named by id (not alias), decoded: a call names the same few contexts again and
 * again, and each base58 decode (twice: check, then decode) cost more than the lookup. Bounded;
 * cleared when full. Aliases are resolved on every call (they can be re-pointed).
 */
const decodedIds = new Map<string, Buffer>()
const MAX_DECODED_IDS = 4096

function resolveContext(node: MeroNode, text: string): Buffer {
  const hit = decodedIds.get(text)
  if (hit) return Buffer.from(hit)
  const id = resolveId(node, 'context', text)
  const bytes = fromBase58(id, 'context id', 32)
  if (id === text) {
    if (decodedIds.size >= MAX_DECODED_IDS) decodedIds.clear()
    decodedIds.set(text, Buffer.from(bytes))
  }
  return bytes
}

function view(node: MeroNode, meta: ContextMeta) {
  const g = contexts(node).governance(meta)
  const json = contextMetaJson(meta)
  return {
    ...json,
    alias: node.aliases.aliasesOf('context', json.contextId)[0] ?? g.alias,
    visibility: g.visibility,
    allowlist: g.allowlist.map(toBase58),
    members: g.members.map(toBase58),
    pendingUpgrade: g.pendingUpgrade && toBase58(g.pendingUpgrade),
    upgradeError: g.upgradeError,
    sync: syncStatus(node, meta),
  }
}

function syncStatus(node: MeroNode, meta: ContextMeta) {
  const r = node.contextReplicator
  if (!r) return { state: 'offline', peers: 0, lastSync: null, lastFetch: null, pendingDeltas: 0, failures: 0 }
  const s = r.status(meta.contextId)
  const state = s.syncing ? 'syncing' : s.pendingDeltas > 0 ? 'behind' : s.lastSync && !s.lastSync.ok ? 'failing' : s.peers > 0 ? 'replicating' : 'alone'
  return { state, peers: s.peers, lastSync: s.lastSync ?? null, lastFetch: s.lastFetch ?? null, pendingDeltas: s.pendingDeltas, failures: s.failures }
}

/** context.* — seed 000's context lifecycle and Execute. */
export const contextHandlers = {
  'context.create': async ({ group, application, params, alias, visibility }, { node }) => {
    const groupId = resolveGroup(node, group)
    const target = application ? fromBase58(resolveId(node, 'application', application), 'application id', 32) : node.groups.targetApplication(groupId)
    if (!target) throw new MeroError('InvalidInput', `name an application (--app): group ${groupIdToString(groupId)} has no target application`)
    const meta = await contexts(node).create(groupId, target, params, visibility)
    if (alias) node.aliases.create('context', alias, toBase58(meta.contextId))
    return view(node, meta)
  },
  'context.list': ({ group }, { node }) => ({ contexts: contexts(node).list(group ? resolveGroup(node, group) : undefined).map((m) => view(node, m)) }),
  'context.get': ({ context }, { node }) => view(node, contexts(node).require(resolveContext(node, context))),
  'context.delete': ({ context }, { node }) => {
    const id = resolveContext(node, context)
    contexts(node).delete(id)
    node.aliases.forget('context', toBase58(id))
    return { contextId: toBase58(id), deleted: true }
  },
  'context.execute': ({ context, method: name, args }, { node }) => contexts(node).execute(resolveContext(node, context), name, args),
  'context.updateApplication': async ({ context, application }, { node }) => {
    const meta = await contexts(node).updateApplication(resolveContext(node, context), fromBase58(resolveId(node, 'application', application), 'application id', 32))
    return view(node, meta)
  },
  'context.setVisibility': async ({ context, visibility }, { node }) => {
    const id = resolveContext(node, context)
    const meta = contexts(node).require(id)
    await node.issueGroupOp(meta.groupId, { kind: 'ContextVisibilitySet', contextId: id, visibility })
    return { contextId: toBase58(id), visibility }
  },
  'context.manageAllowlist': async ({ context, add, remove }, { node }) => {
    const id = resolveContext(node, context)
    const meta = contexts(node).require(id)
    if (!add.length && !remove.length) throw new MeroError('InvalidInput', 'name identities to add or remove')
    await node.issueGroupOp(meta.groupId, { kind: 'ContextAllowlistSet', contextId: id, add: add.map((i) => resolveIdentity(node, i)), remove: remove.map((i) => resolveIdentity(node, i)) })
    return { contextId: toBase58(id), allowlist: contexts(node).governance(meta).allowlist.map(toBase58) }
  },
  'context.allowlist': ({ context }, { node }) => {
    const meta = contexts(node).require(resolveContext(node, context))
    const g = contexts(node).governance(meta)
    return { contextId: toBase58(meta.contextId), visibility: g.visibility, allowlist: g.allowlist.map(toBase58) }
  },
} satisfies Partial<Handlers<'context'>>
