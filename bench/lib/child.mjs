/**
 * Ends a helper child process: closes its stdin (our children stop when it closes) and waits for
 * it to exit, killing it after `graceMs`. `exited` is a promise of its exit, taken when it was
 * spawned (it may have exited already).
 */
export async function endChild(child, exited, graceMs = 5_000) {
  child.stdin.end()
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(killer)
}
