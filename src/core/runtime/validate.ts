import { MeroError } from '../primitives/errors.js'
import { sha256 } from '../primitives/hash.js'
import { readAbiSection, type ModuleAbi } from './abi-section.js'
import { HOST_ABI, HOST_MODULE } from './host-abi.js'
import type { InstrumentedRecord } from './instrumented-cache.js'
import { instrumentInProcess, type Instrumenter } from './instrumenter.js'
import { DEFAULT_LIMITS } from './limits.js'
import { isWasm } from './wasm-binary.js'

export interface ValidationOptions {
  maxModuleBytes?: number
  maxMemoryPages?: number
  /** Where binaryen runs [in this thread] (instrumenter.ts). */
  instrument?: Instrumenter
}

export interface ValidatedModule {
  /** SHA-256 of the original bytes. */
  applicationId: Buffer
  size: number
  abi?: ModuleAbi
  /** Exported functions of type () -> (): the callable methods. */
  entryPoints: string[]
  /** The metered module (what is compiled and run). */
  instrumented: Uint8Array
  maxMemoryPages: number
  /** Pages the memory starts with (the instrumented module imports a memory of initial..max pages). */
  initialMemoryPages: number
  /** Export to call before the method (the module's former start function). */
  start?: string
}

/**
 * Install-time checks (reference §1.1): a wasm module within the size cap, exporting `memory`,
 * importing no memory, exporting no `_start` (a WASI command), importing only host ABI functions
 * from "env", with a well-formed ABI section if it has one; then instrumented for metering.
 * Throws MeroError InvalidModule naming the first problem.
 */
export async function validateModule(bytes: Uint8Array, options: ValidationOptions = {}): Promise<ValidatedModule> {
  const abi = await checkModule(bytes, options)
  const { bytes: instrumented, ...rest } = await (options.instrument ?? instrumentInProcess)(bytes, options.maxMemoryPages ?? DEFAULT_LIMITS.maxMemoryPages)
  return withInstrumentation(bytes, abi, { instrumented, ...rest })
}

/**
 * validateModule with the instrumentation made earlier by this build for the same bytes and cap
 * (see instrumented-cache.ts): every check runs again, only binaryen's part is skipped.
 */
export async function validateInstrumented(bytes: Uint8Array, record: InstrumentedRecord, options: ValidationOptions = {}): Promise<ValidatedModule> {
  return withInstrumentation(bytes, await checkModule(bytes, options), record)
}

/** The checks of validateModule that need no instrumentation; returns the module's ABI, if any. */
async function checkModule(bytes: Uint8Array, options: ValidationOptions): Promise<ModuleAbi | undefined> {
  const maxBytes = options.maxModuleBytes ?? DEFAULT_LIMITS.maxModuleBytes
  if (!(bytes instanceof Uint8Array)) throw new MeroError('InvalidModule', 'the module must be given as bytes')
  if (bytes.length > maxBytes) throw new MeroError('InvalidModule', `the module is ${bytes.length} bytes, more than the ${maxBytes} allowed`)
  if (!isWasm(bytes)) throw new MeroError('InvalidModule', 'the file is not a WebAssembly module (it does not start with the \\0asm magic number)')
  let module: WebAssembly.Module
  try {
    module = await WebAssembly.compile(bytes)
  } catch (e) {
    throw new MeroError('InvalidModule', `the module is not valid WebAssembly: ${(e as Error).message}`)
  }
  for (const imp of WebAssembly.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`
    if (imp.kind === 'memory') throw new MeroError('InvalidModule', `the module imports its memory (${name}); it must define and export it instead`)
    if (imp.module !== HOST_MODULE) throw new MeroError('InvalidModule', `the module imports '${name}': imports must come from module "${HOST_MODULE}"`)
    if (imp.kind !== 'function') throw new MeroError('InvalidModule', `the module imports a ${imp.kind} '${name}'; the host provides only functions`)
    if (!Object.hasOwn(HOST_ABI, imp.name)) throw new MeroError('InvalidModule', `the module imports unknown host function '${name}'`)
  }
  const exports = WebAssembly.Module.exports(module)
  if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) throw new MeroError('InvalidModule', 'the module does not export its memory as "memory"')
  if (exports.some((e) => e.name === '_start')) throw new MeroError('InvalidModule', 'the module exports _start: it is a WASI command, not an application')
  const abi = readAbiSection(bytes)
  if (exports.some((e) => e.name.startsWith('__mero_'))) throw new MeroError('InvalidModule', 'export names starting with __mero_ are reserved for the runtime')
  return abi
}

function withInstrumentation(bytes: Uint8Array, abi: ModuleAbi | undefined, r: InstrumentedRecord): ValidatedModule {
  if (abi) {
    for (const m of abi.methods) {
      if (!r.entryPoints.includes(m.name)) throw new MeroError('InvalidModule', `the ABI declares method '${m.name}', which the module does not export as a function () -> ()`)
    }
  }
  return {
    applicationId: sha256(bytes),
    size: bytes.length,
    ...(abi ? { abi } : {}),
    entryPoints: r.entryPoints,
    instrumented: r.instrumented,
    maxMemoryPages: r.maxMemoryPages,
    initialMemoryPages: r.initialMemoryPages,
    ...(r.start ? { start: r.start } : {}),
  }
}
