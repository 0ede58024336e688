import { MeroError } from '../primitives/errors.js'
import type { ModuleAbi } from './abi-section.js'
import { HOST_ABI, HOST_MODULE, METER_GAS, METER_GROW_DENIED, METER_MEMORY, METER_MODULE } from './host-abi.js'
import type { HostBlobs, HostState } from './host-state.js'
import { resolveLimits, type RuntimeLimits } from './limits.js'
import { ExecutionSession, SliceExceeded, type AppEvent, type CallOrigin, type QueuedXCall } from './session.js'

/*
 * The execution engine: runs one method of a compiled module, synchronously, in a fresh instance
 * over a HostState. Kept apart from the Runtime (validation, instrumentation, compilation) so
 * that an execution worker loads only this and the session (no zod, no binaryen): a worker starts
 * in about a third of the CPU time.
 */

/** A validated, instrumented and compiled module, ready to instantiate. */
export interface LoadedModule {
  applicationId: Buffer
  abi?: ModuleAbi
  /** Exported functions of type () -> (). */
  entryPoints: ReadonlySet<string>
  /** What a caller may name: the entry points the ABI declares (all of them without an ABI), minus `__` internals. */
  methods: ReadonlySet<string>
  readOnlyMethods: ReadonlySet<string>
  /** The methods other contexts of the group may call (xcall); only those the ABI declares so. */
  callableMethods: ReadonlySet<string>
  maxMemoryPages: number
  /** Pages the memory starts with; each call gets a zeroed memory of initialMemoryPages..maxMemoryPages. */
  initialMemoryPages: number
  /** Export holding the module's start function, run before each method. */
  start?: string
  compiled: WebAssembly.Module
}

export interface ExecutionRequest {
  module: LoadedModule
  method: string
  /** JSON bytes (an object, or empty / `null` for no arguments); the guest reads them with `input`. */
  args?: Uint8Array
  state: HostState
  contextId: Uint8Array
  /** The executing identity's 32-byte public key. */
  executor: Uint8Array
  /** Per-call overrides (the memory cap is fixed when the module is loaded). */
  limits?: Partial<RuntimeLimits>
  /** Forces a read-only call; methods the ABI marks readOnly are always read-only. */
  readOnly?: boolean
  /** The node's blobs (blob_announce_to_context); without them those calls fail. */
  blobs?: HostBlobs
  /**
   * A first attempt on the caller's thread, bounded: at most `instructions` metering points and
   * `hostCalls` host calls, and (checked at each host call) until performance.now() passes
   * `until`. Past any of them, the call throws SliceExceeded (unless the instructions are the
   * whole budget: then it is the budget's error) and the caller runs it again where it may take
   * longer.
   */
  slice?: { instructions: number; hostCalls: number; until: number }
  /** How the call came to run (an event handler, a cross-context call); a client's call by default. */
  origin?: CallOrigin
}

export interface ExecutionOutcome {
  /** The value_return Ok payload (JSON from the SDK), empty when the method returned nothing. */
  result: Uint8Array
  events: AppEvent[]
  /** Calls into other contexts the method queued, to run once its writes are committed. */
  xcalls: QueuedXCall[]
  logs: string[]
  /** Metering points charged. */
  instructions: number
  readOnly: boolean
  /** The guest's linear memory when the call ended: its peak (wasm memory only grows). */
  memoryBytes: number
}

const METHOD_NAME = /^[A-Za-z0-9_]{1,256}$/
const PAGE = 65536
/** Memories up to this size are zeroed and reused after a call; larger ones are dropped. */
const POOLED_MEMORY_BYTES = 1024 * 1024

/** What one instantiation is given: the "env" functions, the metering globals and the memory. */
interface Bindings {
  imports: WebAssembly.Imports
  meter: Record<string, WebAssembly.Global<bigint> | WebAssembly.Global<number> | WebAssembly.Memory | undefined>
  gas: WebAssembly.Global<bigint>
  growDenied: WebAssembly.Global<number>
}

function meterBindings(env: WebAssembly.Imports[string]): Bindings {
  const gas = new WebAssembly.Global<bigint>({ value: 'i64', mutable: true }, 0n)
  const growDenied = new WebAssembly.Global<number>({ value: 'i32', mutable: true }, 0)
  const meter: Bindings['meter'] = { [METER_GAS]: gas, [METER_GROW_DENIED]: growDenied }
  return { imports: { [HOST_MODULE]: env, [METER_MODULE]: meter as WebAssembly.Imports[string] }, meter, gas, growDenied }
}

/**
 * Executes methods. Every execution is a fresh instance, but what it is instantiated with is
 * made once: the "env" functions route to the executing session, the metering globals are reset,
 * and the memory comes zeroed from a per-module pool. Making them per call (a new memory mapping,
 * ~40 closures, two globals) was most of the cost: a kv-store `set` through the runtime took
 * ~128 µs, now ~43 µs. A nested execution (none happens today: host functions never call back
 * into the runtime) gets bindings of its own. Any failure throws a MeroError (ExecutionFailed,
 * LimitExceeded, MethodNotFound or InvalidInput) and the caller then commits nothing.
 */
export class Engine {
  private readonly shared: Bindings
  private current?: ExecutionSession
  private readonly memories = new WeakMap<LoadedModule, WebAssembly.Memory[]>()

  constructor(
    readonly limits: Readonly<RuntimeLimits>,
    private readonly clock: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ) {
    const env: Record<string, Function> = {}
    for (const name of Object.keys(HOST_ABI)) {
      env[name] = (...args: unknown[]) => {
        const session = this.current
        if (!session) throw new MeroError('ExecutionFailed', `host function ${name} called outside an execution`)
        return session.call(name, args)
      }
    }
    this.shared = meterBindings(env as WebAssembly.Imports[string])
  }

  execute(req: ExecutionRequest): ExecutionOutcome {
    const { module, method } = req
    const limits = req.limits ? resolveLimits(this.limits, req.limits) : this.limits
    checkMethod(module, method)
    const input = checkArgs(method, req.args)
    if (req.contextId.length !== 32) throw new MeroError('InvalidInput', `contextId must be 32 bytes, got ${req.contextId.length}`)
    if (req.executor.length !== 32) throw new MeroError('InvalidInput', `executor must be 32 bytes, got ${req.executor.length}`)
    const readOnly = req.readOnly === true || module.readOnlyMethods.has(method)

    const session = new ExecutionSession({
      method, input, state: req.state, contextId: req.contextId, executor: req.executor,
      limits, readOnly, now: this.clock, ...(req.blobs ? { blobs: req.blobs } : {}), ...(req.slice ? { slice: { until: req.slice.until, hostCalls: req.slice.hostCalls } } : {}),
      ...(req.origin ? { origin: req.origin } : {}),
    })
    const sliced = req.slice !== undefined && req.slice.instructions < limits.instructionBudget
    const budget = BigInt(sliced ? req.slice!.instructions : limits.instructionBudget)
    const nested = this.current !== undefined
    const bind = nested ? meterBindings(session.imports() as WebAssembly.Imports[string]) : this.shared
    const { gas, growDenied } = bind
    gas.value = budget
    growDenied.value = 0
    const memory = this.takeMemory(module)
    bind.meter[METER_MEMORY] = memory
    // the guest's log lines go with the error: they are often what explains it
    const withLogs = (e: MeroError): MeroError => (session.logs.length && !(e instanceof SliceExceeded) ? new MeroError(e.kind, e.message, { ...e.details, logs: session.logs }) : e)
    const fail = (e: unknown): never => {
      if (sliced && gas.value < 0n && !session.fatal) throw new SliceExceeded('instructions')
      throw withLogs(classify(e, session, gas.value, growDenied.value, limits, module, method))
    }
    const previous = this.current
    this.current = session
    let memoryBytes = 0
    try {
      let instance: WebAssembly.Instance
      try {
        instance = new WebAssembly.Instance(module.compiled, bind.imports)
      } catch (e) {
        return fail(e)
      }
      session.attachMemory(memory)
      try {
        if (module.start) (instance.exports[module.start] as () => void)()
        ;(instance.exports[method] as () => void)()
      } catch (e) {
        return fail(e)
      }
    } finally {
      this.current = previous
      memoryBytes = memory.buffer.byteLength
      bind.meter[METER_MEMORY] = undefined
      this.returnMemory(module, memory)
    }
    if (session.fatal) throw withLogs(session.fatal)
    const instructions = Number(budget - gas.value)
    if (session.returned && !session.returned.ok) {
      const text = Buffer.from(session.returned.bytes).toString('utf8')
      let error: unknown = text
      try {
        error = JSON.parse(text)
      } catch {
        // a plain string error
      }
      throw new MeroError('ExecutionFailed', `method '${method}' returned an error: ${abbreviate(text)}`, { error, logs: session.logs })
    }
    return { result: session.returned?.bytes ?? new Uint8Array(0), events: session.events, xcalls: session.xcalls, logs: session.logs, instructions, readOnly, memoryBytes }
  }

  /** A zeroed memory of the module's initial size and its cap: from the pool, or a new one. */
  private takeMemory(module: LoadedModule): WebAssembly.Memory {
    return this.memories.get(module)?.pop() ?? new WebAssembly.Memory({ initial: module.initialMemoryPages, maximum: module.maxMemoryPages })
  }

  /**
   * Zeroes a memory the call is done with and keeps it for the next call, unless it grew (a
   * memory cannot shrink, and the next call must start at the initial size) or is large. Nothing a
   * call returns refers to guest memory (the host copies out of it), so reuse is invisible.
   */
  private returnMemory(module: LoadedModule, memory: WebAssembly.Memory): void {
    const size = memory.buffer.byteLength
    if (size !== module.initialMemoryPages * PAGE || size > POOLED_MEMORY_BYTES) return
    let pool = this.memories.get(module)
    if (!pool) this.memories.set(module, (pool = []))
    if (pool.length >= 2) return
    new Uint8Array(memory.buffer).fill(0)
    pool.push(memory)
  }
}

function checkMethod(module: LoadedModule, method: string): void {
  if (typeof method !== 'string' || !METHOD_NAME.test(method)) {
    throw new MeroError('MethodNotFound', `'${abbreviate(String(method))}' is not a method name (1-256 characters of [A-Za-z0-9_])`)
  }
  if (!module.methods.has(method)) {
    const known = [...module.methods]
    throw new MeroError('MethodNotFound', `the application has no method '${method}'${known.length ? `; it has: ${known.slice(0, 20).join(', ')}` : ''}`)
  }
}

function checkArgs(method: string, args: Uint8Array | undefined): Uint8Array {
  if (!args || args.length === 0) return new Uint8Array(0)
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(args))
  } catch (e) {
    throw new MeroError('InvalidInput', `the arguments of '${method}' are not valid JSON: ${(e as Error).message}`)
  }
  if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    throw new MeroError('InvalidInput', `the arguments of '${method}' must be a JSON object of named arguments, got ${Array.isArray(value) ? 'an array' : typeof value}`)
  }
  return args
}

function classify(e: unknown, session: ExecutionSession, gasLeft: bigint, growDenied: number, limits: RuntimeLimits, module: LoadedModule, method: string): MeroError {
  if (session.fatal) return session.fatal
  if (e instanceof MeroError) return e
  if (gasLeft < 0n) {
    return new MeroError('LimitExceeded', `method '${method}' exhausted its instruction budget of ${limits.instructionBudget}`, { limit: 'instructionBudget' })
  }
  if (e instanceof WebAssembly.RuntimeError) {
    if (growDenied) {
      return new MeroError('LimitExceeded', `method '${method}' needed more memory than the limit of ${module.maxMemoryPages} pages (${module.maxMemoryPages * 64} KiB) and trapped`, { limit: 'maxMemoryPages' })
    }
    return new MeroError('ExecutionFailed', `method '${method}' trapped: ${e.message}`)
  }
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new MeroError('ExecutionFailed', `method '${method}' overflowed the call stack`)
  }
  if (e instanceof WebAssembly.LinkError) return new MeroError('ExecutionFailed', `the module could not be instantiated: ${e.message}`)
  return new MeroError('ExecutionFailed', `method '${method}' failed: ${(e as Error)?.message ?? String(e)}`)
}

function abbreviate(s: string, max = 500): string {
  return s.length > max ? `${s.slice(0, max)}…` : s
}
