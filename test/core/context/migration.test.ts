import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MeroNode } from '../../../src/core/node/node.js'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { ensureBuilt, fixture } from '../runtime/fixtures.js'
import { closeNodes, newNode } from './helpers.js'

/**
 * Migrations (issue 21, item 4), in process over a real store: moving a context to an application
 * that keeps a newer state layout runs its migration once, atomically with the switch; a failed
 * one leaves the old version running; a state never goes back. (The kill -9 in the middle of one
 * is test/e2e/migration.test.ts.)
 */
afterEach(closeNodes)

async function setup(): Promise<{ n: MeroNode; ctx: Buffer; v1: Buffer; v2: Buffer }> {
  const n = await newNode()
  const v1 = fromBase58((await n.applications.install(fixture('as-migration-v1'))).applicationId, 'application id', 32)
  const v2 = fromBase58((await n.applications.install(fixture('as-migration-v2'))).applicationId, 'application id', 32)
  const meta = await n.contexts.create(n.createGroup(), v1, {})
  const ctx = meta.contextId
  for (const [key, value] of [['a', '1'], ['b', '2'], ['c', '3']]) await n.contexts.execute(ctx, 'put', { key, value })
  return { n, ctx, v1, v2 }
}

describe('migrations', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('v1 → v2 with data: the migration runs once, its writes and the switch commit together as a delta', async () => {
    const { n, ctx, v2 } = await setup()
    const before = n.contexts.require(ctx)
    const after = await n.contexts.updateApplication(ctx, v2)
    expect(after.applicationId.equals(v2)).toBe(true)
    expect(n.contexts.require(ctx)).toMatchObject({ applicationId: after.applicationId, deltas: before.deltas + 1 })
    expect(n.contexts.require(ctx).upgrading).toBeUndefined()
    expect((await n.contexts.execute(ctx, 'version', {})).result).toBe(2)
    expect((await n.contexts.execute(ctx, 'layout', {})).result).toEqual({ layout: '2', records: 3, items: 0 })
    expect((await n.contexts.execute(ctx, 'get', { key: 'b' })).result).toEqual({ value: '2', since: 'v1' })
    // the migration is not a method clients call, and moving to the same application again runs nothing
    await expect(n.contexts.execute(ctx, 'migrate_v1_to_v2', {})).rejects.toMatchObject({ kind: 'MethodNotFound' })
    await n.contexts.updateApplication(ctx, v2)
    expect(n.contexts.require(ctx).deltas).toBe(before.deltas + 1)
    expect(n.contexts.state(ctx).rootHash().toString('hex')).toBe(n.contexts.require(ctx).rootHash.toString('hex'))
  }, 60_000)

  it('calls that arrive while a migration runs wait for it, and run the new version', async () => {
    const { n, ctx, v2 } = await setup()
    await n.contexts.execute(ctx, 'set_flag', { name: 'migration_ms', value: '300' })
    const switching = n.contexts.updateApplication(ctx, v2)
    const put = n.contexts.execute(ctx, 'put', { key: 'd', value: '4' })
    const version = n.contexts.execute(ctx, 'version', {})
    await switching
    await put
    expect((await version).result).toBe(2)
    expect((await n.contexts.execute(ctx, 'get', { key: 'd' })).result).toEqual({ value: '4', since: 'v2' })
    expect((await n.contexts.execute(ctx, 'layout', {})).result).toEqual({ layout: '2', records: 4, items: 0 })
  }, 60_000)

  it('a failed migration writes nothing and leaves the old version running, with an error that says so', async () => {
    const { n, ctx, v1, v2 } = await setup()
    await n.contexts.execute(ctx, 'set_flag', { name: 'fail_migration', value: 'yes' })
    const before = n.contexts.require(ctx)
    await expect(n.contexts.updateApplication(ctx, v2)).rejects.toMatchObject({
      kind: 'ExecutionFailed',
      message: expect.stringMatching(/the migration 'migrate_v1_to_v2' of application .* \(state version 1 to 2\) failed, and context .* keeps running application .*refusing to migrate/),
    })
    expect(n.contexts.require(ctx)).toEqual(before)
    expect((await n.contexts.execute(ctx, 'version', {})).result).toBe(1)
    expect((await n.contexts.execute(ctx, 'get', { key: 'a' })).result).toBe('1')
    // fixed, it migrates; then the state never goes back to layout 1
    await n.contexts.execute(ctx, 'set_flag', { name: 'fail_migration', value: 'no' })
    await n.contexts.updateApplication(ctx, v2)
    await expect(n.contexts.updateApplication(ctx, v1)).rejects.toMatchObject({ kind: 'InvalidInput', message: expect.stringMatching(/keeps state version 1, older than version 2 .* does not go back/) })
    expect((await n.contexts.execute(ctx, 'version', {})).result).toBe(2)
  }, 60_000)

  it('group upgrade: the next call migrates the context and runs the new version', async () => {
    const { n, ctx, v2 } = await setup()
    await n.issueGroupOp(n.contexts.require(ctx).groupId, { kind: 'TargetApplicationSet', application: v2 })
    expect((await n.contexts.execute(ctx, 'version', {})).result).toBe(2)
    expect((await n.contexts.execute(ctx, 'layout', {})).result).toEqual({ layout: '2', records: 3, items: 0 })
    expect(n.contexts.governance(n.contexts.require(ctx))).toMatchObject({ pendingUpgrade: null, upgradeError: null })
  }, 60_000)

  it('group upgrade whose migration fails: the context keeps the old version and its view says why', async () => {
    const { n, ctx, v2 } = await setup()
    await n.contexts.execute(ctx, 'set_flag', { name: 'fail_migration', value: 'yes' })
    await n.issueGroupOp(n.contexts.require(ctx).groupId, { kind: 'TargetApplicationSet', application: v2 })
    for (let i = 0; i < 2; i++) expect((await n.contexts.execute(ctx, 'version', {})).result).toBe(1)
    expect((await n.contexts.execute(ctx, 'get', { key: 'a' })).result).toBe('1')
    const g = n.contexts.governance(n.contexts.require(ctx))
    expect(g.pendingUpgrade).not.toBeNull()
    expect(g.upgradeError).toMatch(/keeps running application .*refusing to migrate/)
    expect(n.contexts.require(ctx).upgrading).toBeUndefined()
  }, 60_000)
})
