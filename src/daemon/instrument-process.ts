import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MeroError } from '../core/primitives/errors.js'
import type { InstrumentedModule } from '../core/runtime/instrument.js'
import { replyError, type Instrumenter, type InstrumentJob, type InstrumentReply } from '../core/runtime/instrumenter.js'

export interface ProcessInstrumenterOptions {
  /** The child's V8 old-generation cap, MB: a module that needs more fails its install [512]. */
  maxOldSpaceMb?: number
  /** A module not instrumented within this time fails its install, and the child is killed [120 s]. */
  timeoutMs?: number
  /** The child's script [instrument-child.js beside this module: the build's]. */
  entry?: string
}

/**
 * Application instrumentation (binaryen) in a child process that exits once it has nothing left
 * to do. binaryen is about 15 MB of JavaScript with a wasm memory of its own: loaded in merod, it
 * stayed for the life of the daemon and took a node from ~115 MB to ~250 MB after its first
 * `app install`. A worker thread did not give it back either: the allocator kept what the
 * worker's parse and compile had used (measured: ~200 MB after the worker ended). A process
 * returns everything when it exits.
 *
 * One child takes the jobs one after the other; the first job starts it, and it is let go when
 * the last one has answered. Installs are rare: each burst of them pays for starting node and
 * loading binaryen (~0.6 s) once.
 */
export class ProcessInstrumenter {
  /** The child that takes new jobs; one let go (idle) may still be exiting. */
  private child?: ChildProcess
  private readonly live = new Map<ChildProcess, Promise<void>>()
  private readonly waiting = new Map<number, { child: ChildProcess; resolve: (m: InstrumentedModule) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>()
  private nextId = 0
  private closed = false
  /** Since construction: modules sent to be instrumented, and child processes started. */
  readonly stats = { jobs: 0, processesStarted: 0 }

  constructor(private readonly opts: ProcessInstrumenterOptions = {}) {}

  /** Whether a child process is alive now (each exits once idle). */
  get running(): boolean {
    return this.live.size > 0
  }

  readonly instrument: Instrumenter = (bytes, maxMemoryPages) => {
    if (this.closed) return Promise.reject(new MeroError('Unavailable', 'merod is stopping: no module can be instrumented now'))
    const child = this.child ?? this.start()
    const id = this.nextId++
    this.stats.jobs++
    return new Promise<InstrumentedModule>((resolve, reject) => {
      const timeoutMs = this.opts.timeoutMs ?? 120_000
      const timer = setTimeout(() => {
        this.fail(id, new MeroError('InvalidModule', `the module was not instrumented within ${timeoutMs / 1000} s`))
        child.kill('SIGKILL')
      }, timeoutMs)
      this.waiting.set(id, { child, resolve, reject, timer })
      child.send({ id, bytes, maxMemoryPages } satisfies InstrumentJob)
    })
  }

  /** Resolves once no child process is alive. */
  async idle(): Promise<void> {
    while (this.live.size) await Promise.all(this.live.values())
  }

  async close(): Promise<void> {
    this.closed = true
    this.child = undefined
    for (const c of this.live.keys()) c.kill('SIGKILL')
    await this.idle()
  }

  private fail(id: number, e: Error): void {
    const w = this.waiting.get(id)
    if (!w) return
    this.waiting.delete(id)
    clearTimeout(w.timer)
    w.reject(e)
  }

  private start(): ChildProcess {
    const child = fork(this.opts.entry ?? fileURLToPath(new URL('./instrument-child.js', import.meta.url)), [], {
      execArgv: [`--max-old-space-size=${this.opts.maxOldSpaceMb ?? 512}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    this.stats.processesStarted++
    this.child = child
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-2000)))
    child.on('message', (reply: InstrumentReply) => {
      const w = this.waiting.get(reply.id)
      if (!w) return
      this.waiting.delete(reply.id)
      clearTimeout(w.timer)
      if (reply.error) w.reject(replyError(reply.error))
      else w.resolve({ ...reply.result, bytes: new Uint8Array(reply.result.bytes) })
      if (![...this.waiting.values()].some((x) => x.child === child)) this.letGo(child)
    })
    child.on('error', (e) => (stderr ||= e.message))
    this.live.set(
      child,
      new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          if (this.child === child) this.child = undefined
          this.live.delete(child)
          const why = this.closed
            ? new MeroError('Unavailable', 'merod is stopping: the module was not instrumented')
            : new MeroError('InvalidModule', `the module could not be instrumented: the instrumenting process ended (${signal ?? `exit code ${code}`})${stderr ? `: ${lastLine(stderr)}` : ''}`)
          for (const [id, w] of this.waiting) if (w.child === child) this.fail(id, why)
          resolve()
        })
      }),
    )
    return child
  }

  /** Nothing left for this child: it takes no new job and exits. */
  private letGo(child: ChildProcess): void {
    if (this.child === child) this.child = undefined
    if (child.connected) child.disconnect()
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(-3).join(' / ')
}

