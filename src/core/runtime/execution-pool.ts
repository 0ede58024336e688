import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import { MeroError } from '../primitives/errors.js'
import type { Startable } from '../primitives/lifecycle.js'
import type { HostState } from './host-state.js'
import type { RuntimeLimits } from './limits.js'
import type { ExecutionOutcome, ExecutionRequest, LoadedModule } from './engine.js'
import type { Runtime } from './runtime.js'
import { SliceExceeded } from './session.js'
import {
  ANNOUNCE, deserializeError, HOST_STATE_METHOD_SET, type HostReply, type ModuleTransfer, pack, type RunMessage,
  type ReadyMessage, serializeError, unpack, type WorkerMessage,
} from './worker-protocol.js'

/**
 * One method to run, over a state that lives on this (the daemon's) thread: an engine request
 * (the pool's limits for all, the slice its own), with a deadline of its own if it needs one.
 */
export type ExecutionJob = Omit<ExecutionRequest, 'limits' | 'slice'> & {
  /** Wall-clock deadline of this call in ms (default: the pool's). */
  deadlineMs?: number
}

/** Runs methods somewhere that is not the caller's event loop; a failure rejects with a MeroError. */
export interface Executor {
  run(job: ExecutionJob): Promise<ExecutionOutcome>
}

/** A state whose writes can be taken back to a point (StateSession): an inline attempt needs it. */
interface Savepoints {
  savepoint(): number
  rollbackTo(mark: number): void
}

export interface ExecutionPoolOptions {
  /** Runs the inline attempts; its limits are every call's. */
  runtime: Runtime
  /**
   * A call first runs on the caller's thread for at most this many metering points, host calls
   * and (checked at its host calls) ms; past any of them, its writes are taken back and it runs on
   * a worker (past the time alone, it is first tried inline once more). `instructions: 0` sends
   * every call to a worker [1,000,000 points, 1,000 host calls, 20 ms].
   */
  slice?: Partial<InlineSlice>
  /** Worker threads at most; calls beyond them wait for one to free [8]. */
  maxWorkers?: number
  /** Wall-clock deadline of a call, ms [10,000]. */
  deadlineMs?: number
  /** A worker beyond the first stops after this long without a call, ms [30,000]. */
  idleMs?: number
  /** Compiled modules each worker keeps [32]. */
  modulesPerWorker?: number
}

export const DEFAULT_MAX_WORKERS = 8
export const DEFAULT_DEADLINE_MS = 10_000
export interface InlineSlice {
  instructions: number
  hostCalls: number
  ms: number
}

export const DEFAULT_SLICE: Readonly<InlineSlice> = Object.freeze({ instructions: 1_000_000, hostCalls: 1_000, ms: 20 })
/** Methods that ran past their slice go straight to a worker for this long, ms. */
const LONG_FOR_MS = 60_000
const MAX_LONG_METHODS = 1024
/** A worker's V8 heap (the app's linear memory is not on it): past it, the worker ends and its call fails. */
const WORKER_HEAP_MB = 512
/** Workers run at this niceness (Linux): when cores are short, the event loop is scheduled first. */
const WORKER_NICE = 10

interface Pending {
  job: ExecutionJob
  resolve: (o: ExecutionOutcome) => void
  reject: (e: unknown) => void
}

interface Active extends Pending {
  id: number
  deadlineMs: number
  /** Armed once the worker is ready: a call's deadline does not count the worker's start-up. */
  timer?: NodeJS.Timeout
}

interface ExecWorker {
  worker: Worker
  signal: Int32Array
  replies: MessagePort
  /** Which modules the worker holds, least recently used first (the pool decides, so that both sides agree). */
  modules: Map<string, true>
  /** Modules it is to forget with its next job. */
  drop: string[]
  job?: Active
  dead: boolean
  /** The worker has loaded its entry and listens (it says so once). */
  ready: boolean
  idleTimer?: NodeJS.Timeout
}

/** A worker that has not said it is ready after this long is replaced, and its call fails. */
const WORKER_START_MS = 30_000

const FROM_SOURCE = import.meta.url.endsWith('.ts')

/**
 * Worker threads that run methods (issue 17's isolation of applications). The daemon's event
 * loop only hands a call over and answers its state reads and writes, so a method that spins
 * (until its instruction budget or its deadline ends it) never holds up RPC, gossip or sync.
 *
 * - **State stays here.** The context's StateSession, the store and every commit stay on this
 *   thread; a worker's host call into the state is a round trip (about 10 µs idle: a postMessage,
 *   an Atomics.wait in the worker, the answer read synchronously). RocksDB cannot be opened a
 *   second time in the process (its LOCK), so a worker cannot read the store itself.
 * - **Deadline.** Each call has a wall-clock deadline besides its instruction budget. When it
 *   passes, the call fails with `Timeout`, the worker is terminated (V8 stops even a loop with no
 *   host call) and a fresh one takes its place. The caller rolls back the call's writes.
 * - **Workers** start on demand, up to `maxWorkers`; a call waits only when all of them are busy.
 *   The first stays warm; the others stop after `idleMs` idle. Compiled modules are shared with
 *   the workers (a WebAssembly.Module is not copied between threads); each keeps at most
 *   `modulesPerWorker` of them.
 */
export class ExecutionPool implements Executor, Startable {
  private readonly runtime: Runtime
  private readonly workers = new Set<ExecWorker>()
  private readonly idle: ExecWorker[] = []
  private readonly queue: Pending[] = []
  private readonly maxWorkers: number
  private readonly deadlineMs: number
  private readonly idleMs: number
  private readonly modulesPerWorker: number
  private readonly slice: Readonly<InlineSlice>
  private readonly limits: Readonly<RuntimeLimits>
  /** Methods (application id ‖ name) whose last inline attempt ran past its slice, with when. */
  private readonly long = new Map<string, number>()
  private nextId = 0
  private closed = false
  /**
   * Since start: calls finished inline, inline attempts stopped by time alone and tried inline
   * again, calls run on workers (after inline attempts: `retried`), calls stopped at their
   * deadline, workers started.
   */
  readonly stats = { inline: 0, reattempted: 0, calls: 0, retried: 0, deadlines: 0, started: 0 }

  constructor(opts: ExecutionPoolOptions) {
    this.limits = opts.runtime.limits
    this.runtime = opts.runtime
    this.slice = { ...DEFAULT_SLICE, ...opts.slice }
    const { instructions, hostCalls, ms } = this.slice
    if (!Number.isSafeInteger(instructions) || instructions < 0 || !Number.isSafeInteger(hostCalls) || hostCalls <= 0 || !(ms > 0)) {
      throw new MeroError('InvalidInput', `execution pool: the inline slice needs instructions ≥ 0, host calls > 0 and ms > 0, got ${instructions}, ${hostCalls} and ${ms}`)
    }
    this.maxWorkers = opts.maxWorkers ?? DEFAULT_MAX_WORKERS
    this.deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS
    this.idleMs = opts.idleMs ?? 30_000
    this.modulesPerWorker = opts.modulesPerWorker ?? 32
    for (const [name, v] of [['maxWorkers', this.maxWorkers], ['deadlineMs', this.deadlineMs], ['idleMs', this.idleMs], ['modulesPerWorker', this.modulesPerWorker]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new MeroError('InvalidInput', `execution pool: ${name} must be a positive integer, got ${v}`)
    }
  }

  /** Worker threads running now. */
  get running(): number {
    return this.workers.size
  }

  start(): void {
    this.closed = false
  }

  async stop(): Promise<void> {
    this.closed = true
    for (const p of this.queue.splice(0)) p.reject(new MeroError('Unavailable', 'the node is stopping'))
    const all = [...this.workers]
    for (const w of all) this.retire(w, new MeroError('Unavailable', 'the node is stopping'))
    await Promise.all(all.map((w) => w.worker.terminate().catch(() => undefined)))
  }

  run(job: ExecutionJob): Promise<ExecutionOutcome> {
    if (this.closed) return Promise.reject(new MeroError('Unavailable', 'the node is stopping'))
    const state = job.state as HostState & Partial<Savepoints>
    const key = this.slice.instructions > 0 && state.savepoint && state.rollbackTo ? methodKey(job) : undefined
    if (key !== undefined && !this.isLong(key)) {
      for (let attempt = 1; ; attempt++) {
        const mark = state.savepoint!()
        try {
          const outcome = this.runtime.execute({ ...job, slice: { instructions: this.slice.instructions, hostCalls: this.slice.hostCalls, until: performance.now() + this.slice.ms } })
          this.stats.inline++
          return Promise.resolve(outcome)
        } catch (e) {
          if (!(e instanceof SliceExceeded)) return Promise.reject(e)
          state.rollbackTo!(mark)
          // time is noisy (the thread was preempted, a GC ran): a call stopped by time alone is
          // tried once more here rather than starting a worker (a V8 isolate, ~8 MB the process
          // keeps) for a call that is short; instructions and host calls are the method's own
          if (e.reason === 'time' && attempt === 1) {
            this.stats.reattempted++
            continue
          }
          this.stats.retried++
          if (e.reason !== 'time') this.markLong(key)
          break
        }
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject })
      this.pump()
    })
  }

  private isLong(key: string): boolean {
    const since = this.long.get(key)
    if (since === undefined) return false
    if (performance.now() - since < LONG_FOR_MS) return true
    this.long.delete(key)
    return false
  }

  private markLong(key: string): void {
    this.long.delete(key)
    this.long.set(key, performance.now())
    if (this.long.size > MAX_LONG_METHODS) this.long.delete(this.long.keys().next().value as string)
  }

  /** Forgets an application's compiled module in every worker (with each one's next call). */
  forget(applicationId: Uint8Array): void {
    const key = Buffer.from(applicationId).toString('hex')
    for (const w of this.workers) if (w.modules.delete(key)) w.drop.push(key)
  }

  private pump(): void {
    while (this.queue.length) {
      const w = this.idle.pop() ?? (this.workers.size < this.maxWorkers ? this.spawn() : undefined)
      if (!w) return
      // no spare is started ahead: each worker is a V8 isolate (~10-20 MB), and a call's deadline
      // does not count its worker's start-up
      this.assign(w, this.queue.shift()!)
    }
  }

  private assign(w: ExecWorker, p: Pending): void {
    clearTimeout(w.idleTimer)
    const { job } = p
    const id = this.nextId++
    const key = Buffer.from(job.module.applicationId).toString('hex')
    let module: ModuleTransfer | undefined
    if (!w.modules.delete(key)) module = transferOf(key, job.module)
    w.modules.set(key, true)
    // past its bound, the worker forgets its least recently used modules
    for (const oldest of w.modules.keys()) {
      if (w.modules.size <= this.modulesPerWorker) break
      w.modules.delete(oldest)
      w.drop.push(oldest)
    }
    const deadline = job.deadlineMs ?? this.deadlineMs
    w.job = { ...p, id, deadlineMs: deadline }
    if (w.ready) this.arm(w, w.job)
    this.stats.calls++
    const message: RunMessage = {
      type: 'run', id, moduleKey: key, ...(module ? { module } : {}), ...(w.drop.length ? { drop: w.drop.splice(0) } : {}),
      method: job.method, args: job.args ?? new Uint8Array(0), contextId: job.contextId, executor: job.executor,
      readOnly: job.readOnly === true, limits: this.limits, blobs: job.blobs !== undefined, ...(job.origin ? { origin: job.origin } : {}),
    }
    w.worker.postMessage(message)
  }

  /** Starts the call's deadline. */
  private arm(w: ExecWorker, active: Active): void {
    active.timer = setTimeout(() => this.expire(w, active.id, active.deadlineMs), active.deadlineMs)
  }

  private spawn(): ExecWorker {
    const flag = new SharedArrayBuffer(4)
    const { port1, port2 } = new MessageChannel()
    const options = { workerData: { flag, replies: port2 }, transferList: [port2], resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } }
    const worker = new Worker(BOOTSTRAP, { ...options, eval: true })
    worker.unref()
    port1.unref()
    const w: ExecWorker = { worker, signal: new Int32Array(flag), replies: port1, modules: new Map(), drop: [], dead: false, ready: false }
    const starting = setTimeout(() => {
      if (w.ready || w.dead) return
      this.retire(w, new MeroError('Unavailable', `an execution worker did not start within ${WORKER_START_MS / 1000} s`))
      void worker.terminate().catch(() => undefined)
    }, WORKER_START_MS)
    starting.unref()
    worker.on('message', (m: WorkerMessage) => {
      if (m.type !== 'ready') return this.onMessage(w, m)
      clearTimeout(starting)
      w.ready = true
      if (w.job && !w.job.timer && !w.dead) this.arm(w, w.job)
    })
    worker.on('error', (e) => this.retire(w, workerError(e)))
    worker.on('exit', (code) => this.retire(w, new MeroError('ExecutionFailed', `the execution worker stopped (exit code ${code})`)))
    this.workers.add(w)
    this.stats.started++
    return w
  }

  private onMessage(w: ExecWorker, m: Exclude<WorkerMessage, ReadyMessage>): void {
    const active = w.job
    // a worker being replaced (its call past its deadline) may still have messages in flight
    if (w.dead || !active || m.id !== active.id) return
    if (m.type === 'host') return this.serve(w, active, m.fn, m.args)
    clearTimeout(active.timer)
    w.job = undefined
    if (m.type === 'done') active.resolve(m.outcome)
    else active.reject(deserializeError(m.error))
    this.release(w)
  }

  /** Answers one host call of the worker's method, then wakes the worker. */
  private serve(w: ExecWorker, active: Active, fn: string, packed: unknown[]): void {
    let reply: HostReply
    const transfer: ArrayBuffer[] = []
    try {
      const args = packed.map(unpack)
      let value: unknown
      if (fn === ANNOUNCE) {
        if (!active.job.blobs) throw new MeroError('ExecutionFailed', 'blobs are not available to this execution')
        value = active.job.blobs.announce(args[0] as Uint8Array, args[1] as Uint8Array)
      } else {
        const method = HOST_STATE_METHOD_SET.has(fn) ? (active.job.state as unknown as Record<string, unknown>)[fn] : undefined
        if (typeof method !== 'function') throw new MeroError('ExecutionFailed', `this node's state does not support ${fn}`)
        value = (method as (...a: unknown[]) => unknown).apply(active.job.state, args)
      }
      reply = { ok: true, value: pack(value, transfer) }
    } catch (e) {
      reply = { ok: false, error: serializeError(e) }
    }
    try {
      w.replies.postMessage(reply, transfer)
    } catch (e) {
      // details that cannot be cloned: the error without them
      w.replies.postMessage({ ok: false, error: { kind: 'Internal', message: `host call ${fn}: ${(e as Error).message}` } } satisfies HostReply)
    }
    Atomics.store(w.signal, 0, 1)
    Atomics.notify(w.signal, 0)
  }

  private release(w: ExecWorker): void {
    if (w.dead) return
    this.idle.push(w)
    this.pump()
    if (!w.job && !this.closed) this.armIdle(w)
  }

  /** The first worker stays warm; the others stop after a while without calls. */
  private armIdle(w: ExecWorker): void {
    clearTimeout(w.idleTimer)
    w.idleTimer = setTimeout(() => {
      if (w.job || this.workers.size <= 1) return
      this.retire(w)
      void w.worker.terminate().catch(() => undefined)
    }, this.idleMs)
    w.idleTimer.unref()
  }

  /** The call ran past its deadline: it fails, and its worker is replaced (pure wasm cannot be interrupted otherwise). */
  private expire(w: ExecWorker, id: number, deadlineMs: number): void {
    const active = w.job
    if (!active || active.id !== id || w.dead) return
    this.stats.deadlines++
    w.job = undefined
    active.reject(new MeroError('Timeout', `method '${active.job.method}' ran past its deadline of ${deadlineMs} ms and was stopped; nothing it wrote was committed`, { limit: 'callDeadlineMs', deadlineMs }))
    this.retire(w)
    void w.worker.terminate().catch(() => undefined)
    this.pump()
  }

  /** Takes a worker out of the pool; its call (if any) fails with `error`. */
  private retire(w: ExecWorker, error?: MeroError): void {
    if (w.dead) return
    w.dead = true
    clearTimeout(w.idleTimer)
    this.workers.delete(w)
    const at = this.idle.indexOf(w)
    if (at >= 0) this.idle.splice(at, 1)
    w.replies.close()
    const active = w.job
    w.job = undefined
    if (active) {
      clearTimeout(active.timer)
      active.reject(error ?? new MeroError('ExecutionFailed', 'the execution worker stopped'))
    }
    if (!this.closed) this.pump()
  }
}

function methodKey(job: ExecutionJob): string {
  return `${Buffer.from(job.module.applicationId).toString('hex')}:${job.method}`
}

function transferOf(key: string, m: LoadedModule): ModuleTransfer {
  return {
    key, applicationId: new Uint8Array(m.applicationId), compiled: m.compiled, entryPoints: [...m.entryPoints], methods: [...m.methods],
    readOnlyMethods: [...m.readOnlyMethods], callableMethods: [...m.callableMethods], maxMemoryPages: m.maxMemoryPages, initialMemoryPages: m.initialMemoryPages,
    ...(m.start ? { start: m.start } : {}),
  }
}

function workerError(e: Error & { code?: string }): MeroError {
  if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new MeroError('LimitExceeded', `the method needed more than the ${WORKER_HEAP_MB} MiB of heap an execution worker has, and was stopped`, { limit: 'workerHeap' })
  }
  return new MeroError('ExecutionFailed', `the execution worker failed: ${e.message}`)
}

/**
 * What a worker runs first. On Linux, setpriority on a thread id changes that thread alone: the
 * worker lowers its own priority before it loads anything, so that on a busy machine the event
 * loop (RPC, gossip, sync) is scheduled before methods that spin, and before workers starting up.
 * Then it imports its entry; from the TypeScript sources (the tests) it registers tsx's loader
 * first.
 */
const BOOTSTRAP = (() => {
  const entry = new URL(`./execution-worker.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url).href
  const load = FROM_SOURCE
    ? `import(${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}) })`
    : `import(${JSON.stringify(entry)})`
  return `try { require('node:os').setPriority(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()), ${WORKER_NICE}) } catch {}\n${load}`
})()
