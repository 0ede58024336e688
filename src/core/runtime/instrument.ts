import { MeroError } from '../primitives/errors.js'
import { HOST_ABI, HOST_MODULE, METER_GAS, METER_GROW_DENIED, METER_MEMORY, METER_MODULE, type WasmValType } from './host-abi.js'
import { capMemory, importMemory, readMemoryLimits } from './wasm-binary.js'

/**
 * Install-time instrumentation with binaryen (V8 has no metering of its own):
 *  - a gas counter (an imported mutable i64 global, set by the host before each call) is charged
 *    at every function entry and every loop header by the number of expressions the function body
 *    or the loop body runs before its next loop header (an upper bound: both arms of an `if`
 *    count), and traps with `unreachable` once it goes below zero;
 *  - every memory.grow first checks the request against the memory cap and raises a flag global
 *    when it would fail, so a trap that follows can be reported as the memory limit;
 *  - the memory's maximum is capped to the configured number of pages;
 *  - a start function becomes the export `__mero_start`, which the host calls after instantiation,
 *    when the guest's memory is attached and host functions can read it.
 * It also checks the import signatures against the host ABI and lists the callable entry points
 * (exported functions of type () -> ()), which needs the same parse.
 */
export interface InstrumentedModule {
  bytes: Uint8Array
  /** The module's start function, moved to this export so the host runs it once memory is attached. */
  start?: string
  /** Exported functions with no params and no results: the methods a caller may name. */
  entryPoints: string[]
  /** Effective memory cap in pages. */
  maxMemoryPages: number
  /** Pages the memory starts with. */
  initialMemoryPages: number
}

const GAS = '__mero_meter_gas'
const GROW_DENIED = '__mero_meter_grow_denied'
const GROW_CHECK = '__mero_meter_grow_check'
export const START_EXPORT = '__mero_start'

// Features V8 (Node 20) accepts and that the walker below understands.
const FEATURE_NAMES = ['MutableGlobals', 'NontrappingFPToInt', 'SIMD128', 'BulkMemory', 'SignExt', 'Multivalue', 'ReferenceTypes', 'TailCall', 'BulkMemoryOpt', 'CallIndirectOverlong'] as const

// binaryen's typings omit the expression and function wrappers used here: describe what is used.
type Ref = number
interface Binaryen {
  readBinary(bytes: Uint8Array): BModule
  getExpressionInfo(e: Ref): Record<string, unknown> & { id: number; type: number }
  getExpressionId(e: Ref): number
  getExpressionType(e: Ref): number
  getFunctionInfo(f: Ref): { name: string; module: string; base: string; params: number; results: number; body: Ref }
  getExportInfo(e: Ref): { kind: number; name: string; value: string }
  expandType(t: number): number[]
  Function: { setBody(f: Ref, body: Ref): void }
  Loop: { setBody(l: Ref, body: Ref): void }
  MemoryGrow: { setDelta(g: Ref, delta: Ref): void }
  Features: Record<string, number>
  ExternalFunction: number
  none: number
  i32: number
  i64: number
  auto: number
  [id: string]: unknown
}
interface BModule {
  setFeatures(f: number): void
  getNumFunctions(): number
  getFunctionByIndex(i: number): Ref
  getNumExports(): number
  getExportByIndex(i: number): Ref
  getFunction(name: string): Ref
  getMemoryInfo(name?: string): { initial: number; max?: number; module: string | null }
  addGlobalImport(internal: string, mod: string, base: string, type: number, mutable?: boolean): void
  addFunction(name: string, params: number, results: number, vars: number[], body: Ref): Ref
  addFunctionExport(internalName: string, externalName: string): Ref
  getStart(): Ref
  setStart(start: Ref): void
  block(label: string | null, children: Ref[], type?: number): Ref
  if(cond: Ref, ifTrue: Ref, ifFalse?: Ref): Ref
  call(name: string, operands: Ref[], type: number): Ref
  unreachable(): Ref
  global: { get(name: string, type: number): Ref; set(name: string, value: Ref): Ref }
  local: { get(index: number, type: number): Ref }
  i32: { const(v: number): Ref }
  i64: {
    const(value: bigint): Ref
    sub(a: Ref, b: Ref): Ref
    add(a: Ref, b: Ref): Ref
    lt_s(a: Ref, b: Ref): Ref
    gt_u(a: Ref, b: Ref): Ref
    extend_u(a: Ref): Ref
  }
  memory: { size(name?: string): Ref }
  validate(): number
  emitBinary(): Uint8Array
  dispose(): void
}

let binaryenPromise: Promise<Binaryen> | undefined
/** binaryen is large (about 0.6 s to load): load it on the first install, not at daemon start. */
function loadBinaryen(): Promise<Binaryen> {
  binaryenPromise ??= import('binaryen').then((m) => m.default as unknown as Binaryen)
  return binaryenPromise
}

export async function instrumentModule(bytes: Uint8Array, maxMemoryPages: number): Promise<InstrumentedModule> {
  const declared = readMemoryLimits(bytes)
  if (!declared) throw new MeroError('InvalidModule', 'the module must define and export its memory (as "memory")')
  const cap = Math.min(declared.maximum ?? maxMemoryPages, maxMemoryPages)
  if (declared.initial > cap) {
    throw new MeroError('InvalidModule', `the module's memory starts at ${declared.initial} pages, more than the limit of ${cap} pages`)
  }
  const b = await loadBinaryen()
  let m: BModule
  try {
    m = b.readBinary(bytes)
  } catch (e) {
    throw new MeroError('InvalidModule', `the module could not be read for instrumentation: ${(e as Error).message}`)
  }
  try {
    m.setFeatures(FEATURE_NAMES.reduce((acc, n) => acc | (b.Features[n] ?? 0), 0))
    const entryPoints = inspect(b, m)
    instrument(b, m, cap)
    const start = m.getStart()
    if (start) {
      m.setStart(0)
      m.addFunctionExport(b.getFunctionInfo(start).name, START_EXPORT)
    }
    const out = m.emitBinary()
    // the memory is imported (METER_MODULE.memory) so that the runtime can hand each call a zeroed
    // memory from its pool: mapping a fresh one cost more than half of the instantiation
    const imported = importMemory(capMemory(out, maxMemoryPages), METER_MODULE, METER_MEMORY)
    return { bytes: imported.bytes, entryPoints, maxMemoryPages: cap, initialMemoryPages: imported.limits.initial, ...(start ? { start: START_EXPORT } : {}) }
  } finally {
    m.dispose()
  }
}

function inspect(b: Binaryen, m: BModule): string[] {
  const typeName = (t: number): WasmValType | 'other' => (t === b.i32 ? 'i32' : t === b.i64 ? 'i64' : 'other')
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = b.getFunctionInfo(m.getFunctionByIndex(i))
    if (!f.module) continue
    // module names and the import set were checked against the JS API before; the types here
    const abi = HOST_ABI[f.base]
    if (f.module !== HOST_MODULE || !abi) throw new MeroError('InvalidModule', `the module imports unknown host function '${f.module}.${f.base}'`)
    const params = b.expandType(f.params).map(typeName)
    const results = b.expandType(f.results).map(typeName)
    if (params.join() !== abi.params.join() || results.join() !== abi.results.join()) {
      throw new MeroError(
        'InvalidModule',
        `the module imports host function 'env.${f.base}' as (${params.join(', ')}) -> (${results.join(', ')}); the host provides (${abi.params.join(', ')}) -> (${abi.results.join(', ')})`,
      )
    }
  }
  const entryPoints: string[] = []
  for (let i = 0; i < m.getNumExports(); i++) {
    const e = b.getExportInfo(m.getExportByIndex(i))
    if (e.kind !== b.ExternalFunction) continue
    const f = b.getFunctionInfo(m.getFunction(e.value))
    if (f.params === b.none && f.results === b.none) entryPoints.push(e.name)
  }
  return entryPoints
}

function instrument(b: Binaryen, m: BModule, capPages: number): void {
  m.addGlobalImport(GAS, METER_MODULE, METER_GAS, b.i64, true)
  m.addGlobalImport(GROW_DENIED, METER_MODULE, METER_GROW_DENIED, b.i32, true)
  const id = (name: string) => b[`${name}Id`] as number
  const childFields = new Map<number, string[]>([
    [id('Nop'), []], [id('Block'), ['children']], [id('If'), ['condition', 'ifTrue', 'ifFalse']],
    [id('Break'), ['condition', 'value']], [id('Switch'), ['condition', 'value']],
    [id('Call'), ['operands']], [id('CallIndirect'), ['target', 'operands']],
    [id('LocalGet'), []], [id('LocalSet'), ['value']], [id('GlobalGet'), []], [id('GlobalSet'), ['value']],
    [id('Load'), ['ptr']], [id('Store'), ['ptr', 'value']], [id('Const'), []], [id('Unary'), ['value']],
    [id('Binary'), ['left', 'right']], [id('Select'), ['ifTrue', 'ifFalse', 'condition']], [id('Drop'), ['value']],
    [id('Return'), ['value']], [id('MemorySize'), []], [id('Unreachable'), []],
    [id('MemoryInit'), ['dest', 'offset', 'size']], [id('DataDrop'), []], [id('MemoryCopy'), ['dest', 'source', 'size']],
    [id('MemoryFill'), ['dest', 'value', 'size']],
    [id('SIMDExtract'), ['vec']], [id('SIMDReplace'), ['vec', 'value']], [id('SIMDShuffle'), ['left', 'right']],
    [id('SIMDTernary'), ['a', 'b', 'c']], [id('SIMDShift'), ['vec', 'shift']], [id('SIMDLoad'), ['ptr']],
    [id('SIMDLoadStoreLane'), ['ptr', 'vec']],
    [id('RefNull'), []], [id('RefIsNull'), ['value']], [id('RefFunc'), []], [id('RefEq'), ['left', 'right']],
    [id('TableGet'), ['index']], [id('TableSet'), ['index', 'value']], [id('TableSize'), []], [id('TableGrow'), ['value', 'delta']],
    [id('TupleMake'), ['operands']], [id('TupleExtract'), ['tuple']],
  ])
  const LOOP = id('Loop')
  const GROW = id('MemoryGrow')

  const charge = (cost: number): Ref =>
    m.block(null, [
      m.global.set(GAS, m.i64.sub(m.global.get(GAS, b.i64), m.i64.const(BigInt(cost)))),
      m.if(m.i64.lt_s(m.global.get(GAS, b.i64), m.i64.const(0n)), m.unreachable()),
    ])

  // Cost of an expression tree up to (and including) its loop headers; instruments the loops and
  // memory.grow calls found on the way.
  const walk = (e: Ref): number => {
    if (!e) return 0
    const kind = b.getExpressionId(e)
    if (kind !== LOOP && kind !== GROW && !childFields.has(kind)) {
      const name = Object.keys(b).find((k) => k.endsWith('Id') && b[k] === kind)?.slice(0, -2) ?? `#${kind}`
      throw new MeroError('InvalidModule', `the module uses an instruction the runtime cannot meter (${name}); exceptions, GC, threads and stack switching are not supported`)
    }
    // leaves: no need to ask (binaryen.js's getExpressionInfo even throws for `unreachable`)
    if (childFields.get(kind)?.length === 0) return 1
    const info = b.getExpressionInfo(e)
    if (info.id === LOOP) {
      const body = info['body'] as Ref
      const cost = walk(body)
      b.Loop.setBody(e, m.block(null, [charge(Math.max(1, cost)), body], b.auto))
      return 1
    }
    if (info.id === GROW) {
      const delta = info['delta'] as Ref
      const cost = 1 + walk(delta)
      b.MemoryGrow.setDelta(e, m.call(GROW_CHECK, [delta], b.i32))
      return cost
    }
    const fields = childFields.get(info.id)!
    let cost = 1
    for (const field of fields) {
      const v = info[field]
      if (Array.isArray(v)) for (const c of v as Ref[]) cost += walk(c)
      else cost += walk(v as Ref)
    }
    return cost
  }

  const defined: Ref[] = []
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i)
    if (!b.getFunctionInfo(f).module) defined.push(f)
  }
  for (const f of defined) {
    const info = b.getFunctionInfo(f)
    const cost = walk(info.body)
    b.Function.setBody(f, m.block(null, [charge(Math.max(1, cost)), info.body], info.results))
  }

  // grow check: flags (without trapping) a request that would take memory past the cap
  m.addFunction(
    GROW_CHECK,
    b.i32,
    b.i32,
    [],
    m.block(null, [
      m.if(
        m.i64.gt_u(m.i64.add(m.i64.extend_u(m.memory.size()), m.i64.extend_u(m.local.get(0, b.i32))), m.i64.const(BigInt(capPages))),
        m.global.set(GROW_DENIED, m.i32.const(1)),
      ),
      m.local.get(0, b.i32),
    ], b.i32),
  )
}
