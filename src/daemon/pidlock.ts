import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { MeroError } from '../core/primitives/errors.js'

/** The pid of a live process recorded in `path`, or undefined (no file, garbage, or dead). */
export function readLivePid(path: string): number | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
  const pid = Number(text)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return isAlive(pid) ? pid : undefined
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * An exclusive pid file: created with O_EXCL; a file left by a dead process (SIGKILL) is
 * replaced; a live holder is named in the error.
 */
export class PidLock {
  private held = false

  constructor(private readonly path: string) {}

  acquire(): void {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(this.path, 'wx', 0o600)
        writeSync(fd, `${process.pid}\n`)
        closeSync(fd)
        this.held = true
        return
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        const pid = readLivePid(this.path)
        if (pid !== undefined && pid !== process.pid) {
          throw new MeroError('AlreadyRunning', `another merod is already running for this node (pid ${pid}); stop it with \`meroctl node stop\``, { pid })
        }
        try {
          unlinkSync(this.path) // stale: its process is gone
        } catch {
          // raced with another starter; retry
        }
      }
    }
    throw new MeroError('AlreadyRunning', `cannot take the pid lock ${this.path}`)
  }

  release(): void {
    if (!this.held) return
    this.held = false
    try {
      if (readFileSync(this.path, 'utf8').trim() === String(process.pid)) unlinkSync(this.path)
    } catch {
      // already gone
    }
  }
}
