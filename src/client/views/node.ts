import type { BackupManifest, RepairReport, RestoreResult } from '../../api/node-files.js'
import { describeCatchUp, type CatchUp } from '../catch-up.js'
import { formatBytes, formatMs, keyValue, shortId } from '../render.js'

/** `node repair`: what was found, recovered and lost, then what the catch-up fetched. */
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
  if (catchUp) lines.push(describeCatchUp(catchUp))
  return lines.join('\n')
}

export function renderBackup(dir: string, m: BackupManifest): string {
  const rows = Object.values(m.rows).reduce((a, b) => a + b, 0)
  return (
    `Backed up node '${m.node}' into ${dir}\n` +
    keyValue([
      ['identity', m.identity],
      ['store', `${rows} rows, ${formatBytes(m.bytes)}, as of sequence ${m.sequence}`],
      ['blobs', `${m.blobs.count} (${m.blobs.chunks} chunks, ${formatBytes(m.blobs.bytes)})${m.blobs.missing.length ? `; ${m.blobs.missing.length} chunk(s) were deleted while copying` : ''}`],
      ['groups', String(m.groups.length)],
      ['contexts', m.contexts.map((c) => `${c.contextId} ${shortId(c.rootHash)} (${c.deltas} deltas)`)],
      ['took', formatMs(m.durationMs)],
    ])
  )
}

export function renderRestore(r: RestoreResult, catchUp?: CatchUp): string {
  const lines = [
    `Restored node '${r.node}' from ${r.from}`,
    keyValue([
      ['identity', r.identity],
      ['groups', String(r.groups)],
      ['contexts', String(r.contexts)],
      ['previous files', r.replacedTo],
      ['migrated', r.migrated.length ? r.migrated : undefined],
    ]),
  ]
  if (catchUp) lines.push(describeCatchUp(catchUp))
  return lines.join('\n')
}
