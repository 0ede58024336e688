import { Text } from 'ink'
import { shortId } from '../../render.js'
import { windowStart } from '../layout.js'
import { groupCursorIndex, type GroupItem, type WatchState } from '../model.js'
import { contentRows, contentWidth, Pane, Row } from './Pane.js'

export function groupLabel(g: Pick<GroupItem, 'alias' | 'groupId'>): string {
  return g.alias ? `${g.alias} (${shortId(g.groupId)})` : shortId(g.groupId)
}

function groupLine(g: GroupItem): string {
  const flags = [g.deleted ? 'DELETED' : '', g.equivocations ? `⚠ ${g.equivocations} equivocation(s)` : '', g.opsRejected ? `${g.opsRejected} rejected` : '', g.opsPending ? `${g.opsPending} pending` : '', g.sync ?? '']
    .filter(Boolean)
    .join(' · ')
  const count = g.members?.length ?? g.memberCount
  return `${groupLabel(g)}  ${g.myRole ?? ''}  ${count} member${count === 1 ? '' : 's'}  ${g.contexts.length} ctx${flags ? `  ${flags}` : ''}`
}

/** Groups (one line each), then the members (with roles) and contexts of the one under the cursor. */
export function GroupsPane({ state, focused, width, height }: { state: WatchState; focused: boolean; width: number; height: number }) {
  const rows = contentRows(height)
  const w = contentWidth(width)
  const { groups } = state
  const title = `Groups (${groups.length})`
  if (state.unavailable.includes('group.list')) {
    return (
      <Pane title={title} focused={focused} width={width} height={height}>
        <Text dimColor>this daemon does not serve group.list yet</Text>
      </Pane>
    )
  }
  if (groups.length === 0) {
    return (
      <Pane title={title} focused={focused} width={width} height={height}>
        <Text dimColor>no groups yet — `meroctl group create`</Text>
      </Pane>
    )
  }
  const cursor = groupCursorIndex(state)
  const listRows = Math.max(1, Math.min(groups.length, Math.ceil(rows / 3)))
  const start = windowStart(cursor, groups.length, listRows)
  const selected = groups[cursor]
  const detail: { text: string; color?: string; dim?: boolean }[] = []
  if (selected) {
    const members = selected.members
    detail.push({ text: `members of ${groupLabel(selected)}:`, dim: true })
    if (!members) detail.push({ text: `  ${selected.memberCount} (loading…)`, dim: true })
    else {
      const full = w >= 60
      for (const m of members) {
        const who = full ? m.identity : shortId(m.identity)
        const owner = m.identity === selected.owner ? ' (owner)' : ''
        detail.push({ text: `  ${m.role.padEnd(9)} ${who}${owner}${m.alias ? ` ${m.alias}` : ''}`, color: m.role === 'admin' ? 'yellow' : undefined })
      }
    }
    if (selected.contexts.length) detail.push({ text: `contexts: ${selected.contexts.map((c) => shortId(c)).join(' ')}`, dim: true })
    if (selected.lastRejection) detail.push({ text: `last rejected: ${selected.lastRejection}`, color: 'red' })
  }
  const room = rows - (Math.min(groups.length, listRows) + 0)
  const shownDetail = detail.length > room ? [...detail.slice(0, Math.max(0, room - 1)), { text: `  … ${detail.length - room + 1} more (enter for details)`, dim: true }] : detail
  return (
    <Pane title={title} focused={focused} width={width} height={height}>
      {groups.slice(start, start + listRows).map((g, i) => (
        <Row key={g.groupId} text={groupLine(g)} width={w} selected={start + i === cursor} focused={focused} color={g.deleted ? 'gray' : g.equivocations ? 'red' : undefined} />
      ))}
      {room > 0 &&
        shownDetail.map((d, i) => (
          <Text key={i} color={d.color} dimColor={d.dim} wrap="truncate-end">
            {d.text.slice(0, w)}
          </Text>
        ))}
    </Pane>
  )
}
