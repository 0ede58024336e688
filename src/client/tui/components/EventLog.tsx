import { clockTime } from '../describe.js'
import { windowStart } from '../layout.js'
import { logCursorIndex, visibleLog, type LogEntry, type WatchState } from '../model.js'
import { contentRows, contentWidth, Pane, Row } from './Pane.js'

const LEVEL_COLOR: Record<LogEntry['level'], string | undefined> = { info: undefined, good: 'green', warn: 'yellow', error: 'red' }

/** The live event log, newest at the bottom; follows the stream unless the cursor was moved up. */
export function EventLog({ state, focused, width, height }: { state: WatchState; focused: boolean; width: number; height: number }) {
  const rows = contentRows(height)
  const w = contentWidth(width)
  const visible = visibleLog(state)
  const cursor = logCursorIndex(state, visible)
  const start = windowStart(cursor, visible.length, rows)
  const following = state.cursor.log === undefined
  const filter = state.filter ? `  filter "${state.filter}": ${visible.length}/${state.log.length}` : `  ${state.log.length} kept`
  const title = `Events${filter}  ${following ? '(following)' : '(paused — G or end to follow)'}`
  return (
    <Pane title={title} focused={focused} width={width} height={height}>
      {visible.length === 0 ? (
        <Row text={state.filter ? 'no event matches the filter' : 'waiting for events…'} width={w} dim />
      ) : (
        visible.slice(start, start + rows).map((e, i) => <Row key={e.id} text={`${clockTime(e.ts)} ${e.text}`} width={w} selected={focused && start + i === cursor && !following} focused={focused} color={LEVEL_COLOR[e.level]} />)
      )}
    </Pane>
  )
}
