import { useStdout } from 'ink'
import { useEffect, useState } from 'react'
import type { TerminalSize } from '../layout.js'

/** The terminal's size, following resizes; `override` pins it (tests, fixed-size embedding). */
export function useTerminalSize(override?: TerminalSize): TerminalSize {
  const { stdout } = useStdout()
  const read = (): TerminalSize => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 })
  const [size, setSize] = useState(read)
  useEffect(() => {
    if (override) return
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout, override])
  return override ?? size
}

/** The current time, re-read every `everyMs` (the header's uptime ticks with it). */
export function useNow(everyMs: number, enabled = true): number {
  const [now, setNow] = useState(Date.now)
  useEffect(() => {
    if (!enabled) return
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [everyMs, enabled])
  return now
}
