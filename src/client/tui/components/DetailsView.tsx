import { Text } from 'ink'
import { capabilityNames } from '../../views/group.js'
import { formatTime } from '../../render.js'
import { detailsItem, type ContextItem, type GroupItem, type LogEntry, type WatchState } from '../model.js'
import { contentRows, contentWidth, Pane } from './Pane.js'
import { contextLabel } from './ContextsPane.js'
import { groupLabel } from './GroupsPane.js'

type Line = { text: string; color?: string; dim?: boolean }

export function groupDetails(g: GroupItem): Line[] {
  const lines: Line[] = [
    { text: `group        ${g.groupId}` },
    { text: `alias        ${g.alias ?? '-'}` },
    { text: `owner        ${g.owner ?? '-'}` },
    { text: `my role      ${g.myRole ?? '-'}` },
    { text: `state hash   ${g.stateHash ?? '-'}` },
    { text: `heads        ${g.heads?.join(' ') || '-'}` },
    { text: `ops          ${g.opsApplied} applied, ${g.opsRejected} rejected, ${g.opsPending} pending` },
  ]
  if (g.lastRejection) lines.push({ text: `last rejected ${g.lastRejection}`, color: 'red' })
  if (g.equivocations) lines.push({ text: `EQUIVOCATIONS ${g.equivocations}`, color: 'red' })
  if (g.deleted) lines.push({ text: 'DELETED', color: 'red' })
  if (g.sync) lines.push({ text: `sync         ${g.sync}` })
  lines.push({ text: `members (${g.members?.length ?? g.memberCount}):`, dim: true })
  for (const m of g.members ?? []) {
    const caps = m.role === 'admin' ? 'all' : m.capabilities !== undefined ? capabilityNames(m.capabilities).join(', ') || 'none' : '?'
    lines.push({ text: `  ${m.role.padEnd(9)} ${m.identity}${m.identity === g.owner ? ' (owner)' : ''}${m.alias ? ` "${m.alias}"` : ''}  caps: ${caps}`, color: m.role === 'admin' ? 'yellow' : undefined })
  }
  lines.push({ text: `contexts (${g.contexts.length}):`, dim: true })
  for (const c of g.contexts) lines.push({ text: `  ${c}` })
  return lines
}

export function contextDetails(c: ContextItem): Line[] {
  const lines: Line[] = [
    { text: `context      ${c.contextId}` },
    { text: `alias        ${c.alias ?? '-'}` },
    { text: `group        ${c.groupId ?? '-'}` },
    { text: `application  ${c.applicationId ?? '-'}` },
    { text: `root hash    ${c.rootHash ?? '-'}` },
    { text: `sync         ${c.sync}` },
    { text: `deltas seen  ${c.deltas}` },
  ]
  if (c.lastRejection) lines.push({ text: `last rejected ${c.lastRejection}`, color: 'red' })
  lines.push({ text: `heads (${c.heads.length}):`, dim: true })
  for (const h of c.heads) lines.push({ text: `  ${h}` })
  return lines
}

export function eventDetails(e: LogEntry): Line[] {
  const lines: Line[] = [{ text: `${e.type}  #${e.seq}  ${formatTime(e.ts)}` }, { text: e.text, color: e.level === 'error' ? 'red' : e.level === 'warn' ? 'yellow' : undefined }, { text: '' }]
  for (const l of JSON.stringify(e.event, null, 2).split('\n')) lines.push({ text: l, dim: true })
  return lines
}

/** Full details of the item enter was pressed on; esc goes back. */
export function DetailsView({ state, width, height }: { state: WatchState; width: number; height: number }) {
  const found = detailsItem(state)
  const rows = contentRows(height)
  const w = contentWidth(width)
  let title = 'Details'
  let lines: Line[] = [{ text: 'this item is gone (deleted, or dropped from the log)', dim: true }]
  if (found?.pane === 'groups') {
    title = `Group ${groupLabel(found.item)}`
    lines = groupDetails(found.item)
  } else if (found?.pane === 'contexts') {
    title = `Context ${contextLabel(found.item)}`
    lines = contextDetails(found.item)
  } else if (found?.pane === 'log') {
    title = `Event #${found.item.seq}`
    lines = eventDetails(found.item)
  }
  const shown = lines.length > rows ? [...lines.slice(0, Math.max(0, rows - 1)), { text: `… ${lines.length - rows + 1} more lines (a taller terminal shows them)`, dim: true }] : lines
  return (
    <Pane title={`${title}  (esc: back)`} focused width={width} height={height}>
      {shown.map((l, i) => (
        <Text key={i} color={l.color} dimColor={l.dim} wrap="truncate-end">
          {l.text.slice(0, w) || ' '}
        </Text>
      ))}
    </Pane>
  )
}
