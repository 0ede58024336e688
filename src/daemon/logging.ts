import pino, { type Logger } from 'pino'

export type { Logger }

/** JSON lines to the node's merod.log. */
export function createLogger(path: string, level: string): { logger: Logger; flush: () => void } {
  const dest = pino.destination({ dest: path, mkdir: false, sync: false, mode: 0o600 })
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
