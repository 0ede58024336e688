/**
 * A spinner on stderr for long operations: only on a TTY, never under --json or NO_COLOR-less
 * pipes, so scripts see nothing extra.
 */
export async function withSpinner<T>(label: string, enabled: boolean, work: () => Promise<T>): Promise<T> {
  if (!enabled || !process.stderr.isTTY) return work()
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  let i = 0
  const draw = () => process.stderr.write(`\r${frames[i++ % frames.length]} ${label}`)
  draw()
  const timer = setInterval(draw, 80)
  try {
    return await work()
  } finally {
    clearInterval(timer)
    process.stderr.write('\r\u001B[2K')
  }
}
