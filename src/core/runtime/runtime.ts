import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { DEFAULT_LIMITS, resolveLimits, type RuntimeLimits } from './limits.js'
import { ModuleCache } from './module-cache.js'
import { Engine, type ExecutionOutcome, type ExecutionRequest, type LoadedModule } from './engine.js'
import { decodeRecord, encodeRecord, type InstrumentedStore, recordKey } from './instrumented-cache.js'
import type { Instrumenter } from './instrumenter.js'
import { validateInstrumented, validateModule, type ValidatedModule } from './validate.js'

export type { ExecutionOutcome, ExecutionRequest, LoadedModule } from './engine.js'

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
  private readonly instrumented?: InstrumentedStore
  private readonly instrument?: Instrumenter
  private readonly engine: Engine

  constructor(options: RuntimeOptions = {}) {
    this.limits = Object.freeze(resolveLimits(DEFAULT_LIMITS, options.limits))
    this.cache = new ModuleCache(options.cacheSize ?? 64)
    this.instrumented = options.instrumented
    this.instrument = options.instrument
    this.engine = new Engine(this.limits, options.clock)
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
      callableMethods: new Set(v.abi?.methods.filter((m) => m.xcall).map((m) => m.name) ?? []),
      maxMemoryPages: v.maxMemoryPages,
      initialMemoryPages: v.initialMemoryPages,
      ...(v.start ? { start: v.start } : {}),
      compiled,
    }
    this.cache.set(v.applicationId.toString('hex'), loaded)
    return loaded
  }
  /** Runs a method (see Engine). */
  execute(req: ExecutionRequest): ExecutionOutcome {
    return this.engine.execute(req)
  }
}
