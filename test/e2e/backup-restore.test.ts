import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromBase58 } from '../../src/core/primitives/encoding.js'
import { ContextState } from '../../src/core/state/context-state.js'
import { Store } from '../../src/core/store/store.js'
import { Cluster } from '../helpers/cluster.js'
import { TestHome, waitFor } from '../helpers/harness.js'

/**
 * Issue 17, item 3: `meroctl node backup` while the node runs and writes, then `node restore`
 * into a node folder that was lost: the same identity, state and root hashes as at the backup,
 * and it rejoins its peer and catches up with what was written since.
 */
describe('node backup and restore', () => {
  const t = new TestHome()
  const c = new Cluster(t)
  const backups = mkdtempSync('/tmp/mero-bk-')

  beforeAll(async () => {
    await c.start('a')
    await c.start('b')
    await c.share('a', ['b'])
    for (let i = 0; i < 30; i++) await c.call('a', 'set', { key: `before-${i}`, value: `${i}` })
    await waitFor(() => c.converged(['a', 'b']), 10_000)
  }, 90_000)

  afterAll(async () => {
    c.close()
    await t.cleanup()
    rmSync(backups, { recursive: true, force: true })
  })

  it('a backup taken during writes is one instant; the lost node restored from it has that state and identity, then rejoins and catches up', async () => {
    const dir = join(backups, 'a')
    // writes keep landing while the backup runs: every root hash A passes through is recorded
    const roots = new Set([(await c.meta('a')).rootHash])
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing || i < 20; i++) roots.add((await c.call('a', 'set', { key: `during-${i}`, value: `${i}` })).rootHash)
    })()
    const manifest = await t.json(['node', 'backup', dir, '--node', 'a'])
    writing = false
    await writer
    expect(roots.size).toBeGreaterThan(10) // it did write during the backup
    expect(manifest).toMatchObject({ dir, format: 1, node: 'a', identity: c.identities.a, groups: [{ groupId: c.groupId }], blobs: { count: 1, missing: [] } })
    const [ctx] = manifest.contexts
    expect(ctx.contextId).toBe(c.contextId)
    expect(roots).toContain(ctx.rootHash) // a state A really had, not a mix of two
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, 'identity.key')).mode & 0o777).toBe(0o600)
    for (let i = 0; i < 10; i++) await c.call('a', 'set', { key: `after-${i}`, value: `${i}` })
    await waitFor(() => c.converged(['a', 'b']), 10_000)
    const final = (await c.meta('b')).rootHash

    // A's folder is lost
    await c.stop('a')
    rmSync(t.nodeDir('a'), { recursive: true })
    // a restore refuses a backup that did not finish, and changes nothing
    const partial = join(backups, 'partial')
    await t.json(['node', 'backup', partial, '--node', 'b'])
    unlinkSync(join(partial, 'backup.json'))
    const refused = await t.cli(['node', 'restore', partial, '--node', 'a', '--no-start', '--json'])
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stdout).error.message).toMatch(/holds no backup\.json: not a backup, or one that did not finish/)

    const restored = await t.json(['node', 'restore', dir, '--node', 'a', '--no-start'])
    expect(restored).toMatchObject({ node: 'a', identity: c.identities.a, contexts: 1, groups: 1 })
    // the restored store, before the node starts: the state and root hash of the backup
    // (the entity tree's own hash agrees with the context's record: the columns are of one instant)
    const store = await Store.open(join(t.nodeDir('a'), 'data'))
    const id = fromBase58(c.contextId, 'context id', 32)
    const meta = JSON.parse(store.get('context', id)!.toString('utf8'))
    const treeRoot = new ContextState(store, id).rootHash().toString('hex')
    await store.close()
    expect(meta).toMatchObject({ rootHash: ctx.rootHash, deltas: ctx.deltas })
    expect(treeRoot).toBe(ctx.rootHash)
    expect(readFileSync(join(t.nodeDir('a'), 'identity.key'), 'utf8')).toBe(readFileSync(join(dir, 'identity.key'), 'utf8'))

    // started, it is the same node, rejoins B (its peer book came with the backup) and catches up
    const started = await t.json(['node', 'start', '--node', 'a'])
    expect(started.identity).toBe(c.identities.a)
    c.rpc.a = t.rpc('a')
    await waitFor(() => c.converged(['a', 'b']), 20_000, 100)
    expect((await c.meta('a')).rootHash).toBe(final)
    expect((await c.call('a', 'get', { key: 'after-9' })).result).toBe('9')
    expect((await c.call('a', 'len')).result).toBe((await c.call('b', 'len')).result)
  })

  it('restoring over an existing node asks first, keeps its previous files, and refuses while it runs', async () => {
    const dir = join(backups, 'b')
    await t.json(['node', 'backup', dir, '--node', 'b'])
    const running = await t.cli(['node', 'restore', dir, '--node', 'b', '--yes', '--json'])
    expect(running.code).toBe(1)
    expect(JSON.parse(running.stdout).error).toMatchObject({ kind: 'AlreadyRunning' })
    await c.stop('b')
    const unasked = await t.cli(['node', 'restore', dir, '--node', 'b', '--json'])
    expect(unasked.code).toBe(2)
    const r = await t.json(['node', 'restore', dir, '--node', 'b', '--yes', '--wait', '5'])
    expect(r.replacedTo).toMatch(/replaced-/)
    expect(readdirSync(r.replacedTo).sort()).toEqual(['blobs', 'config.toml', 'data', 'identity.key'])
    expect(r.catchUp.peers).toBeGreaterThanOrEqual(1)
    c.rpc.b = t.rpc('b')
    await waitFor(() => c.converged(['a', 'b']), 20_000)
  })
})
