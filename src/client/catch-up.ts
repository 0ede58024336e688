import { sleep, type DaemonManager } from './daemon-manager.js'
import type { RpcClient } from './rpc-client.js'

/** What syncing a node's groups and contexts with its peers fetched. */
export interface CatchUp {
  peers: number
  groups: { groupId: string; fetched: number; errors: string[] }[]
  contexts: { contextId: string; fetched: number; errors: string[] }[]
}

/**
 * Waits up to `waitSeconds` for a peer, then syncs every group and every context the node holds
 * (`group.sync`, `context.sync`): how a repaired or restored node catches up at once instead of at
 * the next heartbeat. A sync that fails is reported, not thrown.
 */
export async function catchUp(client: RpcClient, waitSeconds: number): Promise<CatchUp> {
  const deadline = Date.now() + waitSeconds * 1000
  let peers = 0
  while ((peers = (await client.call('node.status')).peers) === 0 && Date.now() < deadline) await sleep(200)
  const out: CatchUp = { peers, groups: [], contexts: [] }
  if (peers === 0) return out
  const { groups } = await client.call('group.list')
  for (const { groupId } of groups) out.groups.push({ groupId, ...(await attempt(client, 'group.sync', { group: groupId })) })
  const { contexts } = await client.call('context.list')
  for (const { contextId } of contexts) out.contexts.push({ contextId, ...(await attempt(client, 'context.sync', { context: contextId })) })
  return out
}

/** Starts the node's daemon (when it is not running) and catches it up (a repaired or restored node). */
export async function startAndCatchUp(manager: DaemonManager, waitSeconds: number): Promise<CatchUp> {
  await manager.start()
  const client = manager.client()
  try {
    return await catchUp(client, waitSeconds)
  } finally {
    client.close()
  }
}

async function attempt(client: RpcClient, method: 'group.sync' | 'context.sync', params: { group: string } | { context: string }): Promise<{ fetched: number; errors: string[] }> {
  try {
    const r = await (method === 'group.sync' ? client.call(method, params as { group: string }) : client.call(method, params as { context: string }))
    return { fetched: r.fetched, errors: r.errors }
  } catch (e) {
    return { fetched: 0, errors: [(e as Error).message] }
  }
}

export function describeCatchUp(c: CatchUp): string {
  if (c.peers === 0) return 'no peer connected yet: the node catches up when one does'
  const fetched = (xs: { fetched: number }[]) => xs.reduce((n, x) => n + x.fetched, 0)
  const errors = [...c.groups, ...c.contexts].flatMap((x) => x.errors)
  return `caught up from ${c.peers} peer${c.peers === 1 ? '' : 's'}: ${fetched(c.groups)} governance ops in ${c.groups.length} group(s), ${fetched(c.contexts)} deltas in ${c.contexts.length} context(s)${errors.length ? `; ${errors.length} sync error(s), first: ${errors[0]}` : ''}`
}
