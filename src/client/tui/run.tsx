import { render } from 'ink'
import { App } from './components/App.js'
import { WatchSession, type WatchSource } from './session.js'
import { WatchStore } from './store.js'

export interface RunWatchOptions {
  /** A fresh connection to the daemon (called again for every reconnection). */
  connect: () => WatchSource
  nodeName?: string
  query?: { group?: string; context?: string }
  stdout?: NodeJS.WriteStream
  stdin?: NodeJS.ReadStream
}

const ENTER_ALT_SCREEN = '\u001B[?1049h'
const LEAVE_ALT_SCREEN = '\u001B[?1049l'

/**
 * Runs `meroctl watch` full-screen until the user quits (q, ctrl-c) or the process is told to
 * stop; the terminal's previous content comes back afterwards (alternate screen). This module
 * is the only one that loads ink and react: the command imports it lazily.
 */
export async function runWatch(opts: RunWatchOptions): Promise<void> {
  const stdout = opts.stdout ?? process.stdout
  let session: WatchSession | undefined
  const store = new WatchStore({ nodeName: opts.nodeName, onFlush: (batch) => session?.eventsFlushed(batch) })
  session = new WatchSession(store, opts.connect, { query: opts.query })

  stdout.write(ENTER_ALT_SCREEN)
  // not ink's incrementalRendering: in tmux it lost track of lines and left stale copies on
  // screen (the watch e2e test checks every part is drawn once); whole frames are written inside
  // synchronized-output brackets where the terminal supports them, and at most maxFps a second
  const app = render(<App store={store} />, { stdout, stdin: opts.stdin ?? process.stdin, exitOnCtrlC: true, patchConsole: true, maxFps: 30 })
  const stop = () => app.unmount()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const running = session.run()
  try {
    await app.waitUntilExit()
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    session.stop()
    store.close()
    await running
    stdout.write(LEAVE_ALT_SCREEN)
  }
}
