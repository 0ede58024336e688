import { Box, useApp, useInput } from 'ink'
import { useEffect, useSyncExternalStore } from 'react'
import { layout, type TerminalSize } from '../layout.js'
import type { WatchStore } from '../store.js'
import { ContextsPane } from './ContextsPane.js'
import { DetailsView } from './DetailsView.js'
import { EventLog } from './EventLog.js'
import { Footer } from './Footer.js'
import { GroupsPane } from './GroupsPane.js'
import { Header } from './Header.js'
import { useNow, useTerminalSize } from './hooks.js'

export interface AppProps {
  store: WatchStore
  /** Pins the size instead of following the terminal (tests). */
  size?: TerminalSize
  /** Called once when the user quits (q), before ink exits. */
  onQuit?: () => void
  /** Re-render every second for the header's uptime (off in tests for stable frames). */
  tick?: boolean
}

/** The whole screen: header, groups and contexts panes, event log (or a details view), footer. */
export function App({ store, size, onQuit, tick = true }: AppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getState)
  const { exit } = useApp()
  const geometry = layout(useTerminalSize(size))
  const now = useNow(1000, tick)

  useInput((input, key) => store.dispatch({ type: 'key', input, key }))

  useEffect(() => {
    if (!state.quit) return
    onQuit?.()
    exit()
  }, [state.quit])

  const { width, height, sideBySide, paneWidth, paneHeight, logHeight, bodyHeight } = geometry
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header state={state} width={width} now={now} />
      {state.details ? (
        <DetailsView state={state} width={width} height={bodyHeight} />
      ) : (
        <>
          <Box flexDirection={sideBySide ? 'row' : 'column'} width={width}>
            <GroupsPane state={state} focused={state.focus === 'groups'} width={paneWidth} height={paneHeight} />
            <ContextsPane state={state} focused={state.focus === 'contexts'} width={sideBySide ? width - paneWidth : width} height={paneHeight} />
          </Box>
          <EventLog state={state} focused={state.focus === 'log'} width={width} height={logHeight} />
        </>
      )}
      <Footer state={state} width={width} />
    </Box>
  )
}
