import { z } from 'zod'
import type { ContextManager, ContextMeta } from '../../core/context/context-manager.js'
import { VISIBILITIES } from '../../core/governance/ops.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58, toBase58 } from '../../core/primitives/encoding.js'
import { MeroError } from '../../core/primitives/errors.js'
import { resolveGroup, resolveId, resolveIdentity } from './resolve.js'
import { aliasName, idOrAlias } from './schemas.js'
import { method, type MethodTable } from './types.js'

/** context.* — seed 000's context lifecycle and Execute. */
const context = idOrAlias('context')
const identity = idOrAlias('identity')
const METHOD = z.string().regex(/^[A-Za-z0-9_]{1,256}$/, { message: 'expected a method name: 1 to 256 of A-Z, a-z, 0-9, _' })

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
  return {
    ...meta,
    alias: node.aliases.aliasesOf('context', meta.contextId)[0] ?? g.alias,
    visibility: g.visibility,
    allowlist: g.allowlist,
    members: g.members,
    pendingUpgrade: g.pendingUpgrade,
    sync: syncStatus(node, meta),
  }
}

function syncStatus(node: MeroNode, meta: ContextMeta) {
  const r = node.contextReplicator
  if (!r) return { state: 'offline', peers: 0, lastSync: null, lastFetch: null, pendingDeltas: 0, failures: 0 }
  const s = r.status(fromBase58(meta.contextId, 'context id', 32))
  const state = s.syncing ? 'syncing' : s.pendingDeltas > 0 ? 'behind' : s.lastSync && !s.lastSync.ok ? 'failing' : s.peers > 0 ? 'replicating' : 'alone'
  return { state, peers: s.peers, lastSync: s.lastSync ?? null, lastFetch: s.lastFetch ?? null, pendingDeltas: s.pendingDeltas, failures: s.failures }
}

export const contextMethods: MethodTable = {
  'context.create': method({
    description: "Create a context in a group running an application; calls its init (CreateContext)",
    params: z.object({ group: idOrAlias('group'), application: idOrAlias('application').optional(), params: z.unknown().optional(), alias: aliasName.optional(), visibility: z.enum(VISIBILITIES).optional() }).strict(),
    handler: async ({ group, application, params, alias, visibility }, { node }) => {
      const groupId = resolveGroup(node, group)
      const target = application ? resolveId(node, 'application', application) : node.groups.view(groupId).settings.targetApplication
      if (!target) throw new MeroError('InvalidInput', `name an application (--app): group ${groupId} has no target application`)
      const meta = await contexts(node).create(groupId, fromBase58(target, 'application id', 32), params, visibility)
      if (alias) node.aliases.create('context', alias, meta.contextId)
      return view(node, meta)
    },
  }),
  'context.list': method({
    description: 'The contexts this node holds',
    params: z.object({ group: idOrAlias('group').optional() }).strict(),
    handler: ({ group }, { node }) => ({ contexts: contexts(node).list(group ? resolveGroup(node, group) : undefined).map((m) => view(node, m)) }),
  }),
  'context.get': method({
    description: 'A context: group, application, root hash, heads, visibility, allowlist, sync status',
    params: z.object({ context }).strict(),
    handler: ({ context }, { node }) => view(node, contexts(node).require(resolveContext(node, context))),
  }),
  'context.delete': method({
    description: "Delete a context's state from this node (DeleteContext)",
    params: z.object({ context }).strict(),
    handler: ({ context }, { node }) => {
      const id = resolveContext(node, context)
      contexts(node).delete(id)
      node.aliases.forget('context', toBase58(id))
      return { contextId: toBase58(id), deleted: true }
    },
  }),
  'context.execute': method({
    description: "Call a method of the context's application (Execute)",
    params: z.object({ context, method: METHOD, args: z.unknown().optional() }).strict(),
    handler: ({ context, method: name, args }, { node }) => contexts(node).execute(resolveContext(node, context), name, args),
  }),
  'context.updateApplication': method({
    description: 'Move the context to another installed application; state is kept (UpdateApplication)',
    params: z.object({ context, application: idOrAlias('application') }).strict(),
    handler: ({ context, application }, { node }) => {
      const meta = contexts(node).updateApplication(resolveContext(node, context), fromBase58(resolveId(node, 'application', application), 'application id', 32))
      return view(node, meta)
    },
  }),
  'context.setVisibility': method({
    description: 'Open or restrict a context (SetContextVisibility)',
    params: z.object({ context, visibility: z.enum(VISIBILITIES) }).strict(),
    handler: async ({ context, visibility }, { node }) => {
      const id = resolveContext(node, context)
      const meta = contexts(node).require(id)
      await node.issueGroupOp(meta.groupId, { kind: 'ContextVisibilitySet', contextId: id, visibility })
      return { contextId: meta.contextId, visibility }
    },
  }),
  'context.manageAllowlist': method({
    description: "Add or remove identities on a context's allowlist (ManageContextAllowlist)",
    params: z.object({ context, add: z.array(identity).max(1024).default([]), remove: z.array(identity).max(1024).default([]) }).strict(),
    handler: async ({ context, add, remove }, { node }) => {
      const id = resolveContext(node, context)
      const meta = contexts(node).require(id)
      if (!add.length && !remove.length) throw new MeroError('InvalidInput', 'name identities to add or remove')
      await node.issueGroupOp(meta.groupId, { kind: 'ContextAllowlistSet', contextId: id, add: add.map((i) => resolveIdentity(node, i)), remove: remove.map((i) => resolveIdentity(node, i)) })
      return { contextId: meta.contextId, allowlist: contexts(node).governance(meta).allowlist }
    },
  }),
  'context.allowlist': method({
    description: "A context's allowlist",
    params: z.object({ context }).strict(),
    handler: ({ context }, { node }) => {
      const meta = contexts(node).require(resolveContext(node, context))
      const g = contexts(node).governance(meta)
      return { contextId: meta.contextId, visibility: g.visibility, allowlist: g.allowlist }
    },
  }),
}
