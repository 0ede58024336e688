import { Box, Text } from 'ink'
import { formatDuration } from '../../render.js'
import { fit } from '../layout.js'
import { syncSummary, type Connection, type WatchState } from '../model.js'

export function connectionLabel(c: Connection): { text: string; color: string } {
  switch (c.state) {
    case 'connected':
      return { text: '● connected', color: 'green' }
    case 'connecting':
      return { text: '◌ connecting…', color: 'yellow' }
    case 'reconnecting':
      return { text: `○ disconnected — reconnecting (attempt ${c.attempt})…`, color: 'red' }
    case 'disconnected':
      return { text: `○ disconnected${c.retryInMs !== undefined ? ` — retrying in ${(c.retryInMs / 1000).toFixed(1)} s` : ''}${c.error ? ` (${c.error})` : ''}`, color: 'red' }
  }
}

/** Node name, identity, peer id, peers, uptime, overall sync state and the connection. */
export function Header({ state, width, now }: { state: WatchState; width: number; now: number }) {
  const { node, connection } = state
  const conn = connectionLabel(connection)
  const uptime = node.uptimeMs !== undefined && connection.state === 'connected' ? formatDuration(node.uptimeMs + Math.max(0, now - (node.uptimeAt ?? now))) : '-'
  const sync = syncSummary(state)
  const left = `mero watch · node ${node.name ?? '?'} · `
  const right = ` · up ${uptime} · peers ${node.peers} · sync ${sync} · ${state.totalEvents} events`
  const ids = `identity ${node.identity ?? '-'}  peer ${node.peerId ?? '-'}`
  return (
    <Box flexDirection="column" width={width} height={2}>
      <Text wrap="truncate-end">
        <Text bold>{left}</Text>
        <Text color={conn.color}>{fit(conn.text, Math.max(10, width - left.length - 20))}</Text>
        <Text>{connection.state === 'connected' ? fit(right, Math.max(0, width - left.length - conn.text.length)) : ''}</Text>
      </Text>
      <Text dimColor wrap="truncate-end">
        {fit(ids, width)}
      </Text>
    </Box>
  )
}
