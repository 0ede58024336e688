import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RpcClient } from '../../src/client/rpc-client.js'
import { signalIfSame } from '../../src/home/pid-file.js'
import { Cluster } from '../helpers/cluster.js'
import { ROOT, TestHome, waitFor } from '../helpers/harness.js'

/**
 * Migrations across a real merod (issue 21, item 4): `context update` to an application with a
 * newer state layout runs its migration; a merod killed with SIGKILL while the migration runs
 * has committed none of it, and at its next start runs it again, once, to the end.
 */
const V1 = join(ROOT, 'test/fixtures/wasm/build/as-migration-v1.wasm')
const V2 = join(ROOT, 'test/fixtures/wasm/build/as-migration-v2.wasm')

let t: TestHome
let c: Cluster
let long: RpcClient | undefined
afterEach(async () => {
  c?.close()
  long?.close()
  await t?.cleanup()
})

interface View {
  applicationId: string
  upgrading?: string
  deltas: number
}

describe('migrations (merod)', () => {
  it('an upgrade interrupted by kill -9 during its migration is resumed at the next start, and its data migrated once', async () => {
    t = new TestHome()
    c = new Cluster(t)
    // the migration below spins on the clock for 3 s: a budget it does not reach first (its deadline is 10 s)
    await c.start('a', (toml) => toml.replace(/instruction_budget = \d+/, 'instruction_budget = 100000000000'))
    const a = () => c.rpc.a!
    const v1 = (await t.json(['app', 'install', V1, '--node', 'a'])).applicationId as string
    const v2 = (await t.json(['app', 'install', V2, '--node', 'a'])).applicationId as string
    const { groupId } = await a().call<{ groupId: string }>('group.create', {})
    const { contextId } = await a().call<{ contextId: string }>('context.create', { group: groupId, application: v1 })
    const exec = <T>(method: string, args: unknown = {}) => a().call<{ result: T }>('context.execute', { context: contextId, method, args })
    for (let i = 0; i < 20; i++) await exec('put', { key: `k${i}`, value: String(i) })
    // the migration takes 3 s: long enough to kill merod in the middle of it
    await exec('set_flag', { name: 'migration_ms', value: '3000' })

    long = new RpcClient(join(t.nodeDir('a'), 'merod.sock'), { timeoutMs: 60_000 })
    const update = long.call('context.updateApplication', { context: contextId, application: v2 }).then(
      () => 'answered',
      (e: Error) => e.message,
    )
    // the intent is recorded before the migration runs (and the node answers meanwhile: it runs off the event loop)
    await waitFor(async () => (await a().call<View>('context.get', { context: contextId })).upgrading === v2, 10_000)
    expect(signalIfSame(t.holder('a')!, 'SIGKILL')).toBe(true)
    await waitFor(() => !t.holder('a'), 5_000)
    expect(await update).not.toBe('answered')

    await c.start('a')
    const after = await c.rpc.a!.call<View>('context.get', { context: contextId })
    expect(after.applicationId).toBe(v2)
    expect(after.upgrading).toBeUndefined()
    expect((await exec<number>('version')).result).toBe(2)
    expect((await exec('layout')).result).toEqual({ layout: '2', records: 20, items: 0 })
    expect((await exec('get', { key: 'k7' })).result).toEqual({ value: '7', since: 'v1' })
    expect(readFileSync(join(t.nodeDir('a'), 'merod.log'), 'utf8')).toMatch(/interrupted upgrade \(its migration\) ran again and committed/)
    // and a later call on v2 writes the new layout
    await exec('put', { key: 'new', value: 'x' })
    expect((await exec('get', { key: 'new' })).result).toEqual({ value: 'x', since: 'v2' })
  }, 120_000)
})
