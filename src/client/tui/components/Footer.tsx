import { Text } from 'ink'
import { fit } from '../layout.js'
import type { WatchState } from '../model.js'

/** The filter input while `/` is active; otherwise the key bindings. */
export function Footer({ state, width }: { state: WatchState; width: number }) {
  if (state.filterEditing) {
    return (
      <Text wrap="truncate-end">
        <Text color="cyan">/</Text>
        {fit(`${state.filter}█   enter: keep · esc: clear`, width - 1)}
      </Text>
    )
  }
  const keys = state.details ? 'esc back · q quit' : 'tab/←→ pane · ↑↓ move · enter details · / filter · esc clear · q quit'
  const missing = state.unavailable.length ? `  · daemon lacks ${state.unavailable.join(', ')}` : ''
  return (
    <Text dimColor wrap="truncate-end">
      {fit(keys + missing, width)}
    </Text>
  )
}
