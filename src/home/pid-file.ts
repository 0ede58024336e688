import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { MeroError } from '../core/primitives/errors.js'

/**
 * Who a process is, beyond its pid: a pid is reused once its process is gone, so the pid file
 * records the process's start time (and, on Linux, the boot it started in) beside it. A pid
 * file names a process only while a live, non-zombie process with that pid has that start time.
 */
export interface ProcessIdentity {
  pid: number
  /** Start time as the kernel reports it (Linux: clock ticks since boot; elsewhere `ps` lstart). */
  start: string
  /** The boot the process started in (Linux boot_id); absent where the system has none. */
  boot?: string
}

/** What a pid file says: its pid, and the identity it claims (absent in the old, pid-only form). */
export interface PidFileRecord {
  pid: number
  start?: string
  boot?: string
}

/** The identity of a live process, or undefined when it is gone or a zombie. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return process.platform === 'linux' ? linuxIdentity(pid) : psIdentity(pid)
}

function linuxIdentity(pid: number): ProcessIdentity | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // "pid (comm) state ppid ... starttime ...": comm may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const state = fields[0]
  if (state === 'Z' || state === 'X' || state === 'x') return undefined
  const start = fields[19]
  if (!start) return undefined
  return { pid, start, boot: bootId() }
}

let cachedBootId: string | undefined | null = null
function bootId(): string | undefined {
  if (cachedBootId === null) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined
    } catch {
      cachedBootId = undefined
    }
  }
  return cachedBootId
}

function psIdentity(pid: number): ProcessIdentity | undefined {
  let out: string
  try {
    out = execFileSync('ps', ['-o', 'stat=', '-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).trim()
  } catch {
    return undefined
  }
  const m = /^(\S+)\s+(.+)$/.exec(out)
  if (!m || m[1]!.startsWith('Z')) return undefined
  return { pid, start: m[2]!.replace(/\s+/g, ' ') }
}

export function sameProcess(a: ProcessIdentity | undefined, b: ProcessIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.pid === b.pid && a.start === b.start && (a.boot ?? '') === (b.boot ?? '')
}

/** Parses a pid file: `{"pid":…,"start":…,"boot":…}`, or the old bare pid. Undefined when absent or garbage. */
export function readPidFile(path: string): PidFileRecord | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
  if (/^\d+$/.test(text)) return { pid: Number(text) }
  try {
    const v = JSON.parse(text) as Record<string, unknown>
    if (!Number.isInteger(v.pid) || (v.pid as number) <= 0 || typeof v.start !== 'string') return undefined
    return { pid: v.pid as number, start: v.start, boot: typeof v.boot === 'string' ? v.boot : undefined }
  } catch {
    return undefined
  }
}

/**
 * The process a pid file names, when it is provably that process: alive, not a zombie, and
 * started when the file says. A file of the old pid-only form proves nothing and names nobody;
 * so does a pid now held by another process.
 */
export function pidFileHolder(path: string): ProcessIdentity | undefined {
  const record = readPidFile(path)
  if (!record?.start) return undefined
  const live = processIdentity(record.pid)
  return live && sameProcess(live, { pid: record.pid, start: record.start, boot: record.boot }) ? live : undefined
}

/** Sends `signal` to `target` only if the process with its pid is still that same process. */
export function signalIfSame(target: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!sameProcess(processIdentity(target.pid), target)) return false
  try {
    process.kill(target.pid, signal)
    return true
  } catch {
    return false
  }
}

/**
 * An exclusive pid file: created with O_EXCL, holding this process's identity. A file that
 * names no live process of that identity (a crash, a reused pid, a zombie) is replaced; a live
 * holder is named in the error.
 */
export class PidLock {
  private held = false

  constructor(private readonly path: string) {}

  acquire(): void {
    const self = processIdentity(process.pid)
    const record = JSON.stringify({ pid: process.pid, start: self?.start ?? '', ...(self?.boot ? { boot: self.boot } : {}) })
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(this.path, 'wx', 0o600)
        writeSync(fd, `${record}\n`)
        closeSync(fd)
        this.held = true
        return
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        const holder = pidFileHolder(this.path)
        if (holder !== undefined && holder.pid !== process.pid) {
          throw new MeroError('AlreadyRunning', `another merod is already running for this node (pid ${holder.pid}); stop it with \`meroctl node stop\``, { pid: holder.pid })
        }
        try {
          unlinkSync(this.path) // stale: the process it names is gone, or is not that process
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
      if (readPidFile(this.path)?.pid === process.pid) unlinkSync(this.path)
    } catch {
      // already gone
    }
  }
}
