import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { RpcClient } from '../../src/client/rpc-client.js'
import { ROOT, TestHome, waitFor } from '../helpers/harness.js'

/** merod runs garbage collection on the timer and with the retention of its config.toml. */
const KV = join(ROOT, 'apps/kv-store/build/kv-store.wasm')

describe('garbage collection in the daemon', () => {
  const t = new TestHome()
  let rpc: RpcClient | undefined

  afterAll(async () => {
    rpc?.close()
    await t.cleanup()
  })

  it('collects a removed key\'s tombstone once gc.tombstone_retention_secs passed, every gc.interval_secs', async () => {
    await t.init()
    t.editConfig('default', (c) => c.replace(/interval_secs = \d+/, 'interval_secs = 1').replace(/tombstone_retention_secs = \d+/, 'tombstone_retention_secs = 2'))
    await t.start()
    rpc = t.rpc()
    const metric = async (name: string, label: string) => Number(new RegExp(`${name}\\{${label}\\} (\\d+)`).exec(await rpc!.get('/metrics'))?.[1] ?? -1)
    const groupId = (await rpc.call<{ groupId: string }>('group.create', {})).groupId
    const applicationId = (await t.json(['app', 'install', KV])).applicationId
    const contextId = (await t.json(['context', 'create', '--group', groupId, '--app', applicationId])).contextId
    const call = (method: string, args: unknown) => rpc!.call<{ result: unknown }>('context.execute', { context: contextId, method, args })
    await call('set', { key: 'kept', value: 'yes' })
    await call('set', { key: 'gone', value: 'soon' })
    await call('remove', { key: 'gone' })
    const removedAt = Date.now()
    // runs every second; the tombstone is younger than the retention at first
    await waitFor(async () => (await metric('merod_gc_runs', 'outcome="ok"')) >= 1, 4_000)
    await waitFor(async () => (await metric('merod_gc_collected', 'kind="tombstones"')) === 1, 8_000, 200)
    expect(Date.now() - removedAt).toBeGreaterThanOrEqual(2_000)
    expect((await call('get', { key: 'kept' })).result).toBe('yes')
    expect((await call('get', { key: 'gone' })).result).toBeNull()
  }, 30_000)
})
