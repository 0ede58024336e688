/**
 * Screen geometry of `meroctl watch`, pure so it is tested without a terminal. The frame is one
 * line shorter than the terminal: ink clears the whole screen on every frame that fills it,
 * which flickers.
 */
export interface TerminalSize {
  columns: number
  rows: number
}

export interface Layout {
  width: number
  height: number
  headerRows: number
  footerRows: number
  /** Groups and contexts side by side (wide terminal) or stacked. */
  sideBySide: boolean
  paneWidth: number
  paneHeight: number
  logHeight: number
  /** Height of the details view (it replaces the panes and the log). */
  bodyHeight: number
}

export const MIN_COLUMNS = 40
export const MIN_ROWS = 12
const HEADER_ROWS = 2
const FOOTER_ROWS = 1

export function layout(size: TerminalSize): Layout {
  const width = Math.max(MIN_COLUMNS, Math.floor(size.columns) || 80)
  const height = Math.max(MIN_ROWS, Math.floor(size.rows) || 24) - 1
  const bodyHeight = height - HEADER_ROWS - FOOTER_ROWS
  const sideBySide = width >= 100
  // the panes get ~45% of the body, the log the rest (at least 4 lines: border, title, 1 entry)
  let panes = Math.max(5, Math.floor(bodyHeight * 0.45))
  let paneHeight = sideBySide ? panes : Math.max(4, Math.floor(panes / 2))
  if (!sideBySide) panes = paneHeight * 2
  let logHeight = bodyHeight - panes
  if (logHeight < 4) {
    const missing = 4 - logHeight
    paneHeight = Math.max(3, paneHeight - (sideBySide ? missing : Math.ceil(missing / 2)))
    logHeight = bodyHeight - (sideBySide ? paneHeight : paneHeight * 2)
  }
  return { width, height, headerRows: HEADER_ROWS, footerRows: FOOTER_ROWS, sideBySide, paneWidth: sideBySide ? Math.floor(width / 2) : width, paneHeight, logHeight, bodyHeight }
}

/** Truncates to `width` terminal columns with an ellipsis (ids and names here are single-width). */
export function fit(text: string, width: number): string {
  if (width <= 0) return ''
  if (text.length <= width) return text
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`
}

/** First index of a window of `size` rows that keeps `cursor` visible (at the bottom once scrolled). */
export function windowStart(cursor: number, total: number, size: number): number {
  if (total <= size || size <= 0) return 0
  const c = Math.max(0, Math.min(total - 1, cursor))
  return Math.min(total - size, Math.max(0, c - size + 1))
}
