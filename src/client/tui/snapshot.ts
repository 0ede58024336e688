import { z } from 'zod'
import { emptyContext, emptyGroup, type ContextItem, type GroupItem, type MemberItem, type Snapshot } from './model.js'

/**
 * Reads what the panes show over RPC: node.status, group.list + group.get, context.list.
 * Tolerant by design: a method the daemon does not serve yet (-32601) leaves its pane empty and
 * is named in `unavailable`; a result of an unexpected shape is skipped, never half-applied.
 */
export type Call = (method: string, params?: Record<string, unknown>) => Promise<unknown>

export const METHOD_NOT_FOUND = -32601
/** group.get calls per snapshot; beyond that, groups show the counts from group.list. */
export const MAX_GROUP_DETAILS = 64

const str = z.string()
const optStr = z.string().nullish()

const statusSchema = z.looseObject({ identity: str, peerId: str, nodeName: optStr, version: optStr, uptimeMs: z.number().optional(), peers: z.number().optional() })

const memberSchema = z.looseObject({ identity: str, role: str, capabilities: z.number().optional(), alias: optStr })

const groupRowSchema = z.looseObject({
  groupId: str,
  alias: optStr,
  localAlias: optStr,
  owner: optStr,
  myRole: optStr,
  members: z.union([z.number(), z.array(memberSchema)]).optional(),
  contexts: z.union([z.number(), z.array(z.union([str, z.looseObject({ contextId: str })]))]).optional(),
  stateHash: optStr,
  heads: z.array(str).optional(),
  opCount: z.number().optional(),
  pendingOps: z.number().optional(),
  equivocations: z.union([z.number(), z.array(z.unknown())]).optional(),
  deleted: z.boolean().optional(),
})

const contextSchema = z.looseObject({
  contextId: str,
  groupId: optStr,
  applicationId: optStr,
  alias: optStr,
  rootHash: optStr,
  heads: z.array(str).optional(),
  sync: z.looseObject({ state: str, lastError: optStr }).nullish(),
})

type GroupRow = z.infer<typeof groupRowSchema>
type ContextRow = z.infer<typeof contextSchema>

function isMethodNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === METHOD_NOT_FOUND
}

/** Calls `method`; undefined (and the method noted) when the daemon does not serve it. */
async function tolerant(call: Call, method: string, params: Record<string, unknown>, unavailable: Set<string>): Promise<unknown> {
  try {
    return await call(method, params)
  } catch (e) {
    if (isMethodNotFound(e)) {
      unavailable.add(method)
      return undefined
    }
    throw e
  }
}

export function toGroupItem(row: GroupRow): GroupItem {
  const g = emptyGroup(row.groupId)
  g.alias = row.alias ?? row.localAlias ?? null
  g.owner = row.owner ?? undefined
  g.myRole = row.myRole ?? null
  if (Array.isArray(row.members)) {
    g.members = row.members.map((m): MemberItem => ({ identity: m.identity, role: m.role, capabilities: m.capabilities, alias: m.alias ?? null }))
    g.memberCount = g.members.length
  } else if (typeof row.members === 'number') {
    g.memberCount = row.members
  }
  if (Array.isArray(row.contexts)) g.contexts = row.contexts.map((c) => (typeof c === 'string' ? c : c.contextId))
  g.stateHash = row.stateHash ?? undefined
  g.heads = row.heads
  if (row.opCount !== undefined) g.opsApplied = row.opCount
  g.opsPending = row.pendingOps ?? 0
  g.equivocations = Array.isArray(row.equivocations) ? row.equivocations.length : (row.equivocations ?? 0)
  g.deleted = row.deleted ?? false
  return g
}

export function toContextItem(row: ContextRow): ContextItem {
  const c = emptyContext(row.contextId)
  c.groupId = row.groupId ?? undefined
  c.applicationId = row.applicationId ?? undefined
  c.alias = row.alias ?? null
  c.rootHash = row.rootHash ?? undefined
  c.heads = row.heads ?? []
  if (row.sync) c.sync = row.sync.lastError && row.sync.state !== 'in sync' ? `${row.sync.state}: ${row.sync.lastError}` : row.sync.state
  return c
}

function parseList<T>(value: unknown, field: string, schema: z.ZodType<T>): T[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const list = (value as Record<string, unknown>)[field]
  if (!Array.isArray(list)) return undefined
  const out: T[] = []
  for (const item of list) {
    const r = schema.safeParse(item)
    if (r.success) out.push(r.data)
  }
  return out
}

export async function loadStatus(call: Call): Promise<Snapshot['node'] | undefined> {
  const r = statusSchema.safeParse(await call('node.status', {}))
  if (!r.success) return undefined
  const s = r.data
  return { name: s.nodeName ?? undefined, identity: s.identity, peerId: s.peerId, version: s.version ?? undefined, peers: s.peers, uptimeMs: s.uptimeMs, uptimeAt: s.uptimeMs !== undefined ? Date.now() : undefined }
}

/** Everything the panes show. RPC failures other than a missing method propagate. */
export async function loadSnapshot(call: Call): Promise<Snapshot> {
  const unavailable = new Set<string>()
  const [node, groups, contexts] = await Promise.all([loadStatus(call), loadGroups(call, unavailable), loadContexts(call, unavailable)])
  return { node, groups, contexts, unavailable: [...unavailable].sort() }
}

async function loadGroups(call: Call, unavailable: Set<string>): Promise<GroupItem[] | undefined> {
  const rows = parseList(await tolerant(call, 'group.list', {}, unavailable), 'groups', groupRowSchema)
  if (!rows) return undefined
  const items = rows.map(toGroupItem)
  const detailed = await Promise.all(items.slice(0, MAX_GROUP_DETAILS).map((g) => loadGroup(call, g.groupId, unavailable).catch(() => undefined)))
  return items.map((g, i) => (detailed[i] ? { ...detailed[i]!, myRole: detailed[i]!.myRole ?? g.myRole, alias: detailed[i]!.alias ?? g.alias } : g))
}

async function loadContexts(call: Call, unavailable: Set<string>): Promise<ContextItem[] | undefined> {
  const rows = parseList(await tolerant(call, 'context.list', {}, unavailable), 'contexts', contextSchema)
  return rows?.map(toContextItem)
}

/** One group as group.get returns it (members with roles, contexts, heads). */
export async function loadGroup(call: Call, groupId: string, unavailable = new Set<string>()): Promise<GroupItem | undefined> {
  const r = groupRowSchema.safeParse(await tolerant(call, 'group.get', { group: groupId }, unavailable))
  return r.success ? toGroupItem(r.data) : undefined
}

export async function loadContext(call: Call, contextId: string, unavailable = new Set<string>()): Promise<ContextItem | undefined> {
  const r = contextSchema.safeParse(await tolerant(call, 'context.get', { context: contextId }, unavailable))
  return r.success ? toContextItem(r.data) : undefined
}
