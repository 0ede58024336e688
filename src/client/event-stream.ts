import { Errors } from '@oclif/core'
import { EXIT_FAILURE } from './base-command.js'
import type { RpcClient } from './rpc-client.js'
import { clockTime, describeEvent, isNodeEvent } from './tui/describe.js'

/**
 * Prints the daemon's /events until `count` events or ctrl-c (used by `events` and
 * `context watch`): one JSON object per line with `json`, readable lines otherwise. Heartbeats
 * are skipped unless asked for. Throws when the daemon ends the stream.
 */
export async function printEvents(
  client: RpcClient,
  query: { group?: string; context?: string; types?: string[] },
  opts: { json: boolean; count?: number; onOpen?: () => void },
): Promise<number> {
  const withHeartbeats = query.types?.includes('heartbeat') ?? false
  const stop = new AbortController()
  const interrupt = () => stop.abort()
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  let received = 0
  try {
    await client.events(
      query,
      (event) => {
        if (stop.signal.aborted || !isNodeEvent(event)) return
        if (event.type === 'heartbeat' && !withHeartbeats) return
        process.stdout.write(opts.json ? `${JSON.stringify(event)}\n` : `${clockTime(event.ts)}  ${event.type.padEnd(24)} ${describeEvent(event).text}\n`)
        received++
        if (opts.count !== undefined && received >= opts.count) stop.abort()
      },
      stop.signal,
      opts.onOpen,
    )
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
  }
  if (!stop.signal.aborted) {
    throw new Errors.CLIError(`the daemon closed the event stream after ${received} event${received === 1 ? '' : 's'} (did it stop?)`, { exit: EXIT_FAILURE })
  }
  return received
}
