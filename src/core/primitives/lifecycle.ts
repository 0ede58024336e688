/**
 * The one lifecycle of the node's long-lived parts (js-libp2p's Startable): `start` brings a part
 * up (loads what it keeps, registers its protocols, starts its timers), `stop` takes it down and
 * is safe to call on a part that did not start.
 */
export interface Startable {
  start(): void | Promise<void>
  stop(): void | Promise<void>
}

/** Starts the parts in order; when one fails, those already started stop (in reverse) and the error is thrown. */
export async function startAll(parts: readonly Startable[]): Promise<void> {
  const started: Startable[] = []
  try {
    for (const p of parts) {
      await p.start()
      started.push(p)
    }
  } catch (e) {
    await stopAll(started)
    throw e
  }
}

/** Stops the parts in reverse order; each one stops even when another fails. */
export async function stopAll(parts: readonly Startable[]): Promise<void> {
  for (const p of [...parts].reverse()) {
    try {
      await p.stop()
    } catch {
      // stopping: keep stopping the others
    }
  }
}
