import { Text } from 'ink'
import { shortId } from '../../render.js'
import { windowStart } from '../layout.js'
import { contextCursorIndex, type ContextItem, type WatchState } from '../model.js'
import { contentRows, contentWidth, Pane, Row } from './Pane.js'

export function contextLabel(c: Pick<ContextItem, 'alias' | 'contextId'>): string {
  return c.alias ? `${c.alias} (${shortId(c.contextId)})` : shortId(c.contextId)
}

function contextLine(c: ContextItem): string {
  return `${contextLabel(c)}  app ${c.applicationId ? shortId(c.applicationId) : '-'}  root ${c.rootHash ? shortId(c.rootHash) : '-'}  ${c.heads.length} head${c.heads.length === 1 ? '' : 's'}  ${c.sync}`
}

/** One line per context: app, root hash, heads and sync status. */
export function ContextsPane({ state, focused, width, height }: { state: WatchState; focused: boolean; width: number; height: number }) {
  const rows = contentRows(height)
  const w = contentWidth(width)
  const { contexts } = state
  const title = `Contexts (${contexts.length})`
  if (state.unavailable.includes('context.list') && contexts.length === 0) {
    return (
      <Pane title={title} focused={focused} width={width} height={height}>
        <Text dimColor>this daemon does not serve context.list yet</Text>
      </Pane>
    )
  }
  if (contexts.length === 0) {
    return (
      <Pane title={title} focused={focused} width={width} height={height}>
        <Text dimColor>no contexts yet — `meroctl context create`</Text>
      </Pane>
    )
  }
  const cursor = contextCursorIndex(state)
  const start = windowStart(cursor, contexts.length, rows)
  return (
    <Pane title={title} focused={focused} width={width} height={height}>
      {contexts.slice(start, start + rows).map((c, i) => (
        <Row key={c.contextId} text={contextLine(c)} width={w} selected={start + i === cursor} focused={focused} color={c.lastRejection || c.sync.startsWith('failed') ? 'red' : c.sync === 'syncing' ? 'yellow' : undefined} />
      ))}
    </Pane>
  )
}
