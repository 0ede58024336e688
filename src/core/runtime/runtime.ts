import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import type { ModuleAbi } from './abi-section.js'
import { HOST_ABI, HOST_MODULE, METER_GAS, METER_GROW_DENIED, METER_MEMORY, METER_MODULE } from './host-abi.js'
import type { HostBlobs, HostState } from './host-state.js'
import { DEFAULT_LIMITS, resolveLimits, type RuntimeLimits } from './limits.js'
import { ModuleCache } from './module-cache.js'
import { ExecutionSession, type AppEvent } from './session.js'
import { decodeRecord, encodeRecord, type InstrumentedStore, recordKey } from './instrumented-cache.js'
import type { Instrumenter } from './instrumenter.js'
import { validateInstrumented, validateModule, type ValidatedModule } from './validate.js'

/** A validated, instrumented and compiled module, ready to instantiate. */
export interface LoadedModule {
  applicationId: Buffer
  abi?: ModuleAbi
  /** Exported functions of type () -> (). */
  entryPoints: ReadonlySet<string>
  /** What a caller may name: the entry points the ABI declares (all of them without an ABI), minus `__` internals. */
  methods: ReadonlySet<string>
  readOnlyMethods: ReadonlySet<string>
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
}

export interface ExecutionOutcome {
  /** The value_return Ok payload (JSON from the SDK), empty when the method returned nothing. */
  result: Uint8Array
  events: AppEvent[]
  logs: string[]
  /** Metering points charged. */
  instructions: number
  readOnly: boolean
  /** The guest's linear memory when the call ended: its peak (wasm memory only grows). */
  memoryBytes: number
}

export interface RuntimeOptions {
  limits?: Partial<RuntimeLimits>
  /** Compiled modules kept in memory. */
  cacheSize?: number
  /** Unix time in nanoseconds for time_now (tests pin it). */
  clock?: () => bigint
  /** Keeps instrumented modules between runs (see instrumented-cache.ts); without it, every run instruments. */
  instrumented?: InstrumentedStore
  /** Where modules are instrumented [in this thread]; merod passes one that runs in a child process (daemon/instrument-process.ts). */
  instrument?: Instrumenter
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
 * The wasm runtime: validates and compiles modules (cached by application id) and executes
 * methods, each in a fresh instance with the "env" host functions over a HostState. Execution is
 * synchronous (host functions cannot await). Any failure throws a MeroError (ExecutionFailed,
 * LimitExceeded, MethodNotFound or InvalidInput) and the caller then commits nothing.
 */
export class Runtime {
  readonly limits: Readonly<RuntimeLimits>
  private readonly cache: ModuleCache<LoadedModule>
  private readonly loading = new Map<string, Promise<LoadedModule>>()
  private readonly clock: () => bigint
  private readonly instrumented?: InstrumentedStore
  private readonly instrument?: Instrumenter
  /**
   * Every execution is a fresh instance, but what it is instantiated with is made once: the "env"
   * functions route to the executing session, the metering globals are reset, and the memory comes
   * zeroed from a per-module pool. Making them per call (a new memory mapping, ~40 closures, two
   * globals) was most of the cost: a kv-store `set` through the runtime took ~128 µs, now ~43 µs.
   * A nested execution (none happens today: host functions never call back into the runtime) gets
   * bindings of its own.
   */
  private readonly shared: Bindings
  private current?: ExecutionSession
  private readonly memories = new WeakMap<LoadedModule, WebAssembly.Memory[]>()

  constructor(options: RuntimeOptions = {}) {
    this.limits = Object.freeze(resolveLimits(DEFAULT_LIMITS, options.limits))
    this.cache = new ModuleCache(options.cacheSize ?? 64)
    this.clock = options.clock ?? (() => BigInt(Date.now()) * 1_000_000n)
    this.instrumented = options.instrumented
    this.instrument = options.instrument
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

  /** Install-time validation (fits ApplicationStore's ModuleValidator); keeps the instrumentation for later runs. */
  async validate(bytes: Uint8Array): Promise<ValidatedModule> {
    const v = await validateModule(bytes, { ...this.limits, ...(this.instrument ? { instrument: this.instrument } : {}) })
    this.instrumented?.put(recordKey(v.applicationId, this.limits.maxMemoryPages), encodeRecord(v))
    return v
  }

  /** The instrumentation an earlier run of this build kept for these bytes, checked again; undefined if none can be used. */
  private async kept(bytes: Uint8Array): Promise<ValidatedModule | undefined> {
    const raw = this.instrumented?.get(recordKey(sha256(bytes), this.limits.maxMemoryPages))
    if (!raw) return undefined
    try {
      return await validateInstrumented(bytes, decodeRecord(raw), this.limits)
    } catch {
      // a record that does not decode or fit the module: instrumented again (which reports a
      // module that is itself at fault), and the record replaced
      return undefined
    }
  }

  /** The compiled module for these bytes, from the cache or validated and compiled now. */
  async load(bytes: Uint8Array): Promise<LoadedModule> {
    const key = sha256(bytes).toString('hex')
    const hit = this.cache.get(key)
    if (hit) return hit
    let pending = this.loading.get(key)
    if (!pending) {
      pending = this.compile(bytes).finally(() => this.loading.delete(key))
      this.loading.set(key, pending)
    }
    return pending
  }

  /**
   * The compiled module for an application id: from the cache, or `bytes()` is called (e.g. to read
   * the blob) and the result, which must hash to the id, is compiled. Saves reading and hashing the
   * module on every call.
   */
  async loadById(applicationId: Uint8Array, bytes: () => Promise<Uint8Array> | Uint8Array): Promise<LoadedModule> {
    const hit = this.cached(applicationId)
    if (hit) return hit
    const data = await bytes()
    if (!sha256(data).equals(applicationId)) throw new MeroError('InvalidModule', 'the module bytes do not hash to the application id')
    return this.load(data)
  }

  /** A module already compiled, by application id. */
  cached(applicationId: Uint8Array): LoadedModule | undefined {
    return this.cache.get(Buffer.from(applicationId).toString('hex'))
  }

  /** The compiled-module cache: modules held, its capacity, and how many it dropped to make room. */
  get cacheStats(): { entries: number; capacity: number; evicted: number } {
    return { entries: this.cache.size, capacity: this.cache.capacity, evicted: this.cache.evicted }
  }

  /** Forgets an application's module (it was uninstalled): compiled, and instrumented in the store. */
  evict(applicationId: Uint8Array): void {
    this.cache.delete(Buffer.from(applicationId).toString('hex'))
    this.instrumented?.deleteApplication(Buffer.from(applicationId))
  }

  private async compile(bytes: Uint8Array): Promise<LoadedModule> {
    let v = await this.kept(bytes)
    let compiled: WebAssembly.Module | undefined
    if (v) compiled = await WebAssembly.compile(v.instrumented).catch(() => undefined) // a damaged record: made again
    if (!v || !compiled) {
      v = await this.validate(bytes)
      compiled = await WebAssembly.compile(v.instrumented)
    }
    const loaded: LoadedModule = {
      applicationId: v.applicationId,
      ...(v.abi ? { abi: v.abi } : {}),
      entryPoints: new Set(v.entryPoints),
      methods: new Set(v.entryPoints.filter((m) => !m.startsWith('__') && (!v.abi || v.abi.methods.some((d) => d.name === m)))),
      readOnlyMethods: new Set(v.abi?.methods.filter((m) => m.readOnly).map((m) => m.name) ?? []),
      maxMemoryPages: v.maxMemoryPages,
      initialMemoryPages: v.initialMemoryPages,
      ...(v.start ? { start: v.start } : {}),
      compiled,
    }
    this.cache.set(v.applicationId.toString('hex'), loaded)
    return loaded
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
      limits, readOnly, now: this.clock, ...(req.blobs ? { blobs: req.blobs } : {}),
    })
    const budget = BigInt(limits.instructionBudget)
    const nested = this.current !== undefined
    const bind = nested ? meterBindings(session.imports() as WebAssembly.Imports[string]) : this.shared
    const { gas, growDenied } = bind
    gas.value = budget
    growDenied.value = 0
    const memory = this.takeMemory(module)
    bind.meter[METER_MEMORY] = memory
    // the guest's log lines go with the error: they are often what explains it
    const withLogs = (e: MeroError): MeroError => (session.logs.length ? new MeroError(e.kind, e.message, { ...e.details, logs: session.logs }) : e)
    const fail = (e: unknown): never => {
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
    return { result: session.returned?.bytes ?? new Uint8Array(0), events: session.events, logs: session.logs, instructions, readOnly, memoryBytes }
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
