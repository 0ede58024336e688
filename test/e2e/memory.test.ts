import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InspectedMerod } from '../helpers/inspector.js'
import { ROOT, TestHome, waitFor } from '../helpers/harness.js'

const KV_STORE = join(ROOT, 'apps/kv-store/build/kv-store.wasm')
const BINARYEN = /\/node_modules\/binaryen\//

/** Issue 23: nothing heavy stays resident in merod. */
describe('memory: what stays in the daemon', () => {
  const t = new TestHome()
  let merod: InspectedMerod

  beforeAll(async () => {
    await t.init()
    merod = await InspectedMerod.start(t)
  })
  afterAll(async () => {
    merod?.close()
    await t.cleanup()
  })

  const metric = async (name: string): Promise<number> => {
    const rpc = t.rpc()
    const text = await rpc.get('/metrics').finally(() => rpc.close())
    const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)
    if (!m) throw new Error(`no ${name} on /metrics`)
    return Number(m[1])
  }

  it('installing an app and running it leaves no instrumentation toolchain (binaryen) in merod', async () => {
    const before = await merod.scripts()
    // the listing sees the dependencies merod loaded: it would see binaryen
    expect(before.some((u) => u.includes('/node_modules/libp2p/'))).toBe(true)
    expect(before.filter((u) => BINARYEN.test(u))).toEqual([])
    const heapBefore = await merod.heapAfterGc()

    const app = await t.json<{ applicationId: string }>(['app', 'install', KV_STORE])
    const { groupId } = await t.json<{ groupId: string }>(['group', 'create'])
    const { contextId } = await t.json<{ contextId: string }>(['context', 'create', '--group', groupId, '--app', app.applicationId])
    await t.json(['call', contextId, 'set', '--args', '{"key":"k","value":"v"}'])

    const after = await merod.scripts()
    expect(after.filter((u) => BINARYEN.test(u))).toEqual([])
    // binaryen in this thread would add ~36 MB of heap that no collection gives back
    const grew = (await merod.heapAfterGc()) - heapBefore
    expect(grew, `the heap grew by ${(grew / 1048576).toFixed(1)} MB`).toBeLessThan(12 * 1048576)

    // it was instrumented, by a child process that has ended since
    expect(await metric('merod_instrumentations')).toBe(1)
    expect(await metric('merod_instrumentation_processes{state="started"}')).toBe(1)
    await waitFor(async () => (await metric('merod_instrumentation_processes{state="running"}')) === 0, 10_000)
  })

  it('/metrics shows what the node holds: heap, RocksDB budget, module cache, caches, execution pool, pending queues', async () => {
    // the default store.memory_mb (64): half for write buffers, half for block caches
    const writeBuffers = await metric('merod_store_memory_budget_bytes{part="write_buffers"}')
    const blockCache = await metric('merod_store_memory_budget_bytes{part="block_cache"}')
    expect(writeBuffers).toBeLessThanOrEqual(32 * 1048576)
    expect(writeBuffers).toBeGreaterThan(30 * 1048576)
    expect(blockCache).toBeLessThanOrEqual(32 * 1048576)
    expect(blockCache).toBeGreaterThan(30 * 1048576)
    // the kv-store called in the test above is compiled and cached
    expect(await metric('merod_module_cache_entries')).toBe(1)
    expect(await metric('merod_module_cache_capacity')).toBe(64)
    expect(await metric('merod_module_cache_evicted')).toBe(0)
    expect(await metric('merod_pending_items{queue="group_ops"}')).toBe(0)
    expect(await metric('merod_pending_items{queue="context_deltas"}')).toBe(0)
    expect(await metric('merod_pending_evicted{queue="context_deltas"}')).toBe(0)
    // the caches and the execution pool: the call above ran on the event loop, its delta's depth is remembered
    expect(await metric('merod_cache_entries{cache="delta_depths"}')).toBeGreaterThanOrEqual(1)
    expect(await metric('merod_cache_dropped{cache="delta_depths"}')).toBe(0)
    expect(await metric('merod_cache_dropped{cache="text_documents"}')).toBe(0)
    expect(await metric('merod_execution_calls{where="inline"}')).toBeGreaterThanOrEqual(1)
    expect(await metric('merod_execution_workers')).toBeGreaterThanOrEqual(0)
    expect(await metric('merod_nodejs_heap_size_used_bytes')).toBeGreaterThan(1048576)
    expect(await metric('merod_process_resident_memory_bytes')).toBeGreaterThan(await metric('merod_nodejs_heap_size_used_bytes'))
  })

  it('meroctl starts merod with the allocator settings; a setting the operator gave wins', async () => {
    const environ = (pid: number) => new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
    await t.init('allocated')
    const started = await t.json(['node', 'start', '--node', 'allocated'], { env: { MALLOC_ARENA_MAX: undefined, MALLOC_MMAP_THRESHOLD_: undefined } })
    expect(environ(started.pid).get('MALLOC_ARENA_MAX')).toBe('2')
    expect(environ(started.pid).get('MALLOC_MMAP_THRESHOLD_')).toBe('65536')
    await t.json(['node', 'stop', '--node', 'allocated'])
    const own = await t.json(['node', 'start', '--node', 'allocated'], { env: { MALLOC_ARENA_MAX: '4' } })
    expect(environ(own.pid).get('MALLOC_ARENA_MAX')).toBe('4')
    await t.json(['node', 'stop', '--node', 'allocated'])
  })
})
