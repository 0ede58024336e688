import { beforeAll, describe, expect, it } from 'vitest'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { Runtime, type HostState, type LoadedModule } from '../../../src/core/runtime/index.js'
import { importMemory, readMemoryLimits } from '../../../src/core/runtime/wasm-binary.js'
import { MemoryHostState } from '../../helpers/memory-host-state.js'
import { CONTEXT_ID, EXECUTOR } from './fixtures.js'

/**
 * The runtime hands each call a memory from a pool (the instrumented module imports it). Every
 * call must still see exactly what a fresh instance sees: the initial size, the data segments,
 * zeros elsewhere, whatever the calls before it wrote, trapped on or grew.
 */
const PROBE = `
(module
  (import "env" "log_utf8" (func $log (param i64)))
  (import "env" "storage_read" (func $read (param i64 i64) (result i32)))
  (memory (export "memory") 1 4)
  (data (i32.const 0) "clean")
  (data (i32.const 8) "dirty")
  (data (i32.const 16) "grown")
  (data (i32.const 24) "seed")
  (func $say (param $ptr i64)
    (i64.store (i32.const 64) (local.get $ptr))
    (i64.store (i32.const 72) (i64.const 5))
    (call $log (i64.const 64)))
  ;; logs "clean" only when the memory is what a fresh instance gets
  (func (export "probe")
    (if (i32.ne (memory.size) (i32.const 1)) (then (call $say (i64.const 16)) (return)))
    (if (i32.or
          (i32.or (i64.ne (i64.load (i32.const 4096)) (i64.const 0)) (i32.load8_u (i32.const 65535)))
          (i32.ne (i32.load (i32.const 24)) (i32.const 0x64656573)))
      (then (call $say (i64.const 8)) (return)))
    (call $say (i64.const 0)))
  (func $scribble
    (i64.store (i32.const 4096) (i64.const 0xdeadbeef))
    (i32.store8 (i32.const 65535) (i32.const 1))
    (i32.store (i32.const 24) (i32.const 0x2a2a2a2a)))
  (func (export "scribble") (call $scribble))
  (func (export "scribble_then_trap") (call $scribble) unreachable)
  ;; writes a marker, lets the host run (storage_read), and logs "clean" if the marker survived
  (func (export "nested")
    (i64.store (i32.const 8192) (i64.const 0x1234))
    (i64.store (i32.const 96) (i64.const 0))
    (i64.store (i32.const 104) (i64.const 1))
    (drop (call $read (i64.const 96) (i64.const 1)))
    (if (i64.ne (i64.load (i32.const 8192)) (i64.const 0x1234)) (then (call $say (i64.const 8)) (return)))
    (call $say (i64.const 0)))
  (func (export "grow") (drop (memory.grow (i32.const 2))) (call $scribble) (i32.store8 (i32.const 196607) (i32.const 7))))
`

async function watToWasm(text: string): Promise<Buffer> {
  const wabt = await (await import('wabt')).default()
  const mod = wabt.parseWat('probe.wat', text, {})
  try {
    return Buffer.from(mod.toBinary({}).buffer)
  } finally {
    mod.destroy()
  }
}

describe('pooled guest memory', () => {
  const runtime = new Runtime()
  const state = new MemoryHostState()
  let probe: LoadedModule
  const run = (method: string) => runtime.execute({ module: probe, method, state: state.overlay(), contextId: CONTEXT_ID, executor: EXECUTOR })

  beforeAll(async () => {
    probe = await runtime.load(await watToWasm(PROBE))
  })

  it('a call sees a fresh memory after calls that wrote, trapped or grew', () => {
    expect(run('probe').logs).toEqual(['clean'])
    for (let i = 0; i < 3; i++) {
      run('scribble')
      expect(run('probe').logs).toEqual(['clean'])
    }
    expect(() => run('scribble_then_trap')).toThrow(MeroError)
    expect(run('probe').logs).toEqual(['clean'])
    run('grow')
    expect(run('probe').logs).toEqual(['clean'])
    run('grow')
    run('scribble')
    expect(run('probe').logs).toEqual(['clean'])
  })

  it('an execution started from inside a host call (nesting) has bindings and a memory of its own', () => {
    const inner: string[][] = []
    const nesting = new Proxy({} as HostState, {
      get: (_, prop) =>
        prop === 'read'
          ? () => {
              inner.push(run('scribble').logs, run('probe').logs)
              return undefined
            }
          : undefined,
    })
    const outer = runtime.execute({ module: probe, method: 'nested', state: nesting, contextId: CONTEXT_ID, executor: EXECUTOR })
    expect(outer.logs).toEqual(['clean'])
    expect(inner).toEqual([[], ['clean']])
    // metering is deterministic: the nested calls must not have touched the outer call's budget
    const quiet = new Proxy({} as HostState, { get: (_, prop) => (prop === 'read' ? () => undefined : undefined) })
    expect(outer.instructions).toBe(runtime.execute({ module: probe, method: 'nested', state: quiet, contextId: CONTEXT_ID, executor: EXECUTOR }).instructions)
    expect(run('probe').logs).toEqual(['clean'])
  })

  it('two runtimes and two modules do not share memories', async () => {
    const other = new Runtime()
    const probe2 = await other.load(await watToWasm(PROBE))
    const run2 = (module: LoadedModule, method: string) => other.execute({ module, method, state: state.overlay(), contextId: CONTEXT_ID, executor: EXECUTOR })
    run('scribble')
    run2(probe2, 'scribble')
    expect(run2(probe2, 'probe').logs).toEqual(['clean'])
    expect(run('probe').logs).toEqual(['clean'])
  })
})

describe('importMemory', () => {
  it('turns the defined memory into the last import, keeping its limits and the memory export', async () => {
    // no import section at all: one is added in its place
    const bare = await watToWasm('(module (memory (export "memory") 2 9) (data (i32.const 5) "x") (func (export "f")))')
    const { bytes, limits } = importMemory(bare, 'm', 'mem')
    expect(limits).toEqual({ initial: 2, maximum: 9 })
    expect(readMemoryLimits(bytes)).toBeUndefined()
    const mod = new WebAssembly.Module(bytes)
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'm', name: 'mem', kind: 'memory' }])
    expect(WebAssembly.Module.exports(mod)).toEqual([{ name: 'memory', kind: 'memory' }, { name: 'f', kind: 'function' }])
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 9 })
    const inst = new WebAssembly.Instance(mod, { m: { mem: memory } })
    expect(inst.exports['memory']).toBe(memory)
    expect(new Uint8Array(memory.buffer)[5]).toBe(0x78)
    // a larger maximum than the module's does not link
    expect(() => new WebAssembly.Instance(mod, { m: { mem: new WebAssembly.Memory({ initial: 2, maximum: 10 }) } })).toThrow(WebAssembly.LinkError)

    // existing imports keep their order and indices
    const withImports = await watToWasm('(module (import "env" "log_utf8" (func $l (param i64))) (memory 1) (export "memory" (memory 0)) (func (export "g") (call $l (i64.const 0))))')
    const mod2 = new WebAssembly.Module(importMemory(withImports, 'm', 'mem').bytes)
    expect(WebAssembly.Module.imports(mod2)).toEqual([
      { module: 'env', name: 'log_utf8', kind: 'function' },
      { module: 'm', name: 'mem', kind: 'memory' },
    ])
  })
})
