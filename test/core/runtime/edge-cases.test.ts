import { beforeAll, describe, expect, it } from 'vitest'
import type { ErrorKind } from '../../../src/core/primitives/errors.js'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { Runtime, type LoadedModule, type RuntimeLimits } from '../../../src/core/runtime/index.js'
import { MemoryHostState } from '../../helpers/memory-host-state.js'
import { CONTEXT_ID, EXECUTOR, ensureBuilt, fixture, json, parse } from './fixtures.js'

/**
 * Issue 5's edge cases, each through the runtime: the right typed error, a message naming the
 * problem, and nothing written (the overlay holding the call's writes is dropped).
 */
const runtime = new Runtime({ limits: { instructionBudget: 20_000_000 } })
let edge: LoadedModule
let asEdge: LoadedModule
const base = new MemoryHostState()
const emptyHash = base.rootHash()

function call(module: LoadedModule, method: string, opts: { args?: Uint8Array; limits?: Partial<RuntimeLimits>; readOnly?: boolean } = {}) {
  const overlay = base.overlay()
  const outcome = runtime.execute({ module, method, state: overlay, contextId: CONTEXT_ID, executor: EXECUTOR, ...opts })
  overlay.commit()
  return outcome
}

/** Runs a call expected to fail; checks the kind, the message, and that the root hash is unchanged. */
function fails(module: LoadedModule, method: string, kind: ErrorKind, message: RegExp, opts: Parameters<typeof call>[2] = {}): MeroError {
  const before = base.rootHash()
  let err: unknown
  try {
    call(module, method, opts)
  } catch (e) {
    err = e
  }
  expect(err, `${method} should fail`).toBeInstanceOf(MeroError)
  expect((err as MeroError).kind).toBe(kind)
  expect((err as MeroError).message).toMatch(message)
  expect(base.rootHash().equals(before)).toBe(true)
  return err as MeroError
}

describe('runtime edge cases', () => {
  beforeAll(async () => {
    await ensureBuilt()
    edge = await runtime.load(fixture('edge-cases'))
    asEdge = await runtime.load(fixture('as-edge-cases'))
  }, 120_000)

  it('a successful call writes and returns (the baseline the failures are compared with)', () => {
    const probe = base.overlay()
    const out = runtime.execute({ module: edge, method: 'ok', state: probe, contextId: CONTEXT_ID, executor: EXECUTOR })
    expect(parse(out.result)).toEqual({})
    expect(probe.writes).toBe(1)
    expect(probe.rootHash().equals(emptyHash)).toBe(false)
  })

  it('a trap', () => fails(edge, 'write_then_trap', 'ExecutionFailed', /trapped: unreachable/))
  it('a panic with a message', () => {
    const e = fails(edge, 'panic', 'ExecutionFailed', /panicked: boom/)
    expect(e.details?.['panic']).toBe('boom')
  })
  it('an error return carries the app error', () => {
    const e = fails(edge, 'error_return', 'ExecutionFailed', /returned an error: \{"kind":"NotFound","data":"k"\}/)
    expect(e.details?.['error']).toEqual({ kind: 'NotFound', data: 'k' })
  })

  it('an infinite loop is stopped by the instruction budget, and the runtime serves the next call', () => {
    // stopped by the budget (the error says so), not by the test's timeout
    fails(edge, 'spin', 'LimitExceeded', /exhausted its instruction budget of 20000000/)
    expect(parse(call(edge, 'ok').result)).toEqual({})
    expect(base.rootHash().equals(emptyHash)).toBe(false)
    // and a per-call budget is honoured
    fails(edge, 'spin', 'LimitExceeded', /budget of 1000\b/, { limits: { instructionBudget: 1000 } })
  })

  it('the default budget stops an infinite loop too', () => {
    const defaults = new Runtime()
    let err: unknown
    try {
      defaults.execute({ module: edge, method: 'spin', state: base.overlay(), contextId: CONTEXT_ID, executor: EXECUTOR })
    } catch (e) {
      err = e
    }
    expect((err as MeroError).kind).toBe('LimitExceeded')
    expect((err as MeroError).message).toMatch(/budget of 200000000/)
  })

  it('memory growth past the limit (raw memory.grow, and an AssemblyScript allocator)', () => {
    fails(edge, 'grow', 'LimitExceeded', /more memory than the limit of 1024 pages/)
    fails(asEdge, 'alloc_forever', 'LimitExceeded', /more memory than the limit of 1024 pages/)
  })

  it("a module's own lower memory maximum is kept, and reported the same way", async () => {
    const small = await runtime.load(fixture('own-memory-max'))
    expect(small.maxMemoryPages).toBe(4)
    expect(() => call(small, 'grow_once')).not.toThrow()
    fails(small, 'grow', 'LimitExceeded', /limit of 4 pages/)
  })

  it('a growth the guest handles itself is not an error', () => {
    expect(parse(call(edge, 'grow_quietly').result)).toEqual({})
  })

  it('an oversized return value', () => fails(edge, 'big_return', 'LimitExceeded', /return value is 16777217 bytes, more than the 16777216 allowed/))
  it('an oversized key', () => fails(edge, 'big_key', 'LimitExceeded', /key is 1048577 bytes, more than the 1048576 allowed/))
  it('too many logs (the lines logged so far go with the error)', () => {
    const e = fails(edge, 'many_logs', 'LimitExceeded', /more than 1024 log lines/)
    expect((e.details?.['logs'] as string[]).length).toBe(1024)
  })
  it('too many events', () => fails(edge, 'many_events', 'LimitExceeded', /more than 100 events/))

  it('a write inside a read-only view (from the ABI, and forced by the caller)', () => {
    fails(edge, 'peek', 'ExecutionFailed', /'peek' is a read-only view and cannot write state \(it called storage_write\)/)
    fails(edge, 'ok', 'ExecutionFailed', /'ok' is a read-only view/, { readOnly: true })
  })

  it('an unknown method, an internal export and a non-entry-point export', () => {
    fails(edge, 'nope', 'MethodNotFound', /no method 'nope'; it has: ok, echo/)
    fails(edge, 'not_a_method', 'MethodNotFound', /no method 'not_a_method'/)
    fails(edge, 'memory', 'MethodNotFound', /no method 'memory'/)
    fails(edge, 'bad name!', 'MethodNotFound', /not a method name/)
  })

  it('malformed JSON args, and args that are not an object', () => {
    fails(edge, 'echo', 'InvalidInput', /arguments of 'echo' are not valid JSON/, { args: Buffer.from('{"key": ') })
    fails(edge, 'echo', 'InvalidInput', /must be a JSON object/, { args: json([1, 2]) })
    fails(edge, 'echo', 'InvalidInput', /not valid JSON/, { args: Buffer.from([0xff, 0xfe]) })
  })

  it('args reach the guest through input unchanged', () => {
    const args = json({ a: 'ü', n: [1, 2, { b: null }] })
    expect(Buffer.from(call(edge, 'echo', { args }).result).equals(args)).toBe(true)
  })

  it('a guest pointer outside its memory', () => fails(edge, 'out_of_bounds', 'ExecutionFailed', /log line: guest memory access out of bounds/))
  it('unbounded recursion', () => fails(edge, 'recurse', 'ExecutionFailed', /overflowed the call stack|instruction budget/))
  it('an AssemblyScript assertion goes through the SDK abort handler', () =>
    fails(asEdge, 'assert_fails', 'ExecutionFailed', /panicked: the assertion message \(at test\/fixtures\/wasm\/as-edge-cases\.ts:\d+:\d+\)/))
  it('an SDK error return', () => {
    const e = fails(asEdge, 'fail_politely', 'ExecutionFailed', /returned an error/)
    expect(e.details?.['error']).toEqual({ kind: 'NotFound', data: 'k' })
  })
  it('an argument of the wrong type', () =>
    fails(asEdge, 'needs_string', 'ExecutionFailed', /argument 'key' must be a string/, { args: json({ key: 1 }) }))

  it('a start function runs before the method, with the host available', async () => {
    const started = await runtime.load(fixture('start-function'))
    expect(started.start).toBe('__mero_start')
    expect(call(started, 'run').logs).toEqual(['started', 'run'])
    fails(started, '__mero_start', 'MethodNotFound', /no method '__mero_start'; it has: run/)
  })

  it('limits given to execute are validated', () => {
    fails(edge, 'ok', 'InvalidInput', /'instructionBudget' must be a positive integer/, { limits: { instructionBudget: -1 } })
  })
})
