import type { RepairReport } from '../../daemon/repair.js'

/** `node repair`: what was found, recovered and lost, then what the catch-up fetched. */
export interface CatchUp {
  peers: number
  groups: { groupId: string; fetched: number; errors: string[] }[]
  contexts: { contextId: string; fetched: number; errors: string[] }[]
}

export function renderRepair(r: RepairReport, catchUp?: CatchUp): string {
  const lines: string[] = []
  if (r.sound) lines.push(`the store of node '${r.node}' is sound: every acknowledged write is there (up to sequence ${r.recovered})`)
  else {
    lines.push(`repaired the store of node '${r.node}' (${r.data}):`)
    for (const p of r.problems) lines.push(`  found: ${p}`)
    lines.push(`  recovered every write up to sequence ${r.recovered}`)
    if (r.lostWrites !== undefined) lines.push(`  lost: ${r.lostWrites} acknowledged write${r.lostWrites === 1 ? '' : 's'} (sequences ${BigInt(r.recovered) + 1n}-${r.acknowledged})`)
    const u = r.unreplayed
    if (u.rows) lines.push(`  readable in the dropped records: ${u.rows} rows (${Object.entries(u.byColumn).map(([c, n]) => `${c} ${n}`).join(', ')})`)
    for (const d of u.deltas) lines.push(`  context ${d.contextId}: ${d.deltaIds.length} delta${d.deltaIds.length === 1 ? '' : 's'} lost`)
    for (const o of u.ops) lines.push(`  group ${o.groupId}: ${o.opIds.length} governance op${o.opIds.length === 1 ? '' : 's'} lost`)
    if (r.savedTo) lines.push(`  the damaged logs are kept in ${r.savedTo}`)
    lines.push('  what reached a peer is fetched again when the node starts; what never left this node is gone')
  }
  for (const m of r.schema.migrated) lines.push(`migrated the store: ${m}`)
  if (catchUp) {
    const fetched = (xs: { fetched: number }[]) => xs.reduce((n, x) => n + x.fetched, 0)
    const errors = [...catchUp.groups, ...catchUp.contexts].flatMap((x) => x.errors)
    lines.push(
      catchUp.peers === 0
        ? 'no peer connected yet: the node catches up when one does'
        : `caught up from ${catchUp.peers} peer${catchUp.peers === 1 ? '' : 's'}: ${fetched(catchUp.groups)} governance ops in ${catchUp.groups.length} group(s), ${fetched(catchUp.contexts)} deltas in ${catchUp.contexts.length} context(s)${errors.length ? `; ${errors.length} sync error(s), first: ${errors[0]}` : ''}`,
    )
  }
  return lines.join('\n')
}
