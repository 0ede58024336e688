import { openSync } from 'node:fs'
import pino, { type Logger } from 'pino'

export type { Logger }

/**
 * JSON lines to the node's merod.log. The file is opened here, synchronously: a destination that
 * opens its file asynchronously is not ready when a start fails at once (a bad identity key), and
 * pino's flush at exit then threw "sonic boom is not ready yet" with a stack after the real error.
 */
export function createLogger(path: string, level: string): { logger: Logger; flush: () => void } {
  const dest = pino.destination({ fd: openSync(path, 'a', 0o600), sync: false })
  const logger = pino({ level, base: { pid: process.pid } }, dest)
  return {
    logger,
    flush: () => {
      try {
        dest.flushSync()
      } catch {
        // nothing buffered or already closed
      }
    },
  }
}
