import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestHome } from '../helpers/harness.js'

/** Hints name the node, and "did you mean" for nodes, groups, contexts, aliases and commands (issue 18, item 3). */
describe('hints that work', () => {
  const t = new TestHome()
  const err = (stdout: string) => JSON.parse(stdout).error as { kind: string; code: number; message: string; data?: { suggestions?: string[] } }

  beforeAll(async () => {
    await t.init('bob')
    await t.init('carol')
    await t.start('bob')
    await t.json(['group', 'create', '--alias', 'team', '--node', 'bob'])
    await t.json(['app', 'install', 'apps/kv-store/build/kv-store.wasm', '--alias', 'kv', '--node', 'bob'])
    await t.json(['context', 'create', '--group', 'team', '--app', 'kv', '--alias', 'notes', '--node', 'bob'])
  }, 60_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('a stopped node that is not the default: the hint starts that node', async () => {
    const r = await t.cli(['context', 'list', '--node', 'carol', '--no-start'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('`meroctl node start --node carol`')
    const d = await t.cli(['context', 'list', '--node', 'carol', '--no-start', '--json'])
    expect(err(d.stdout)).toMatchObject({ kind: 'DaemonNotRunning', code: 1100, message: expect.stringContaining('`meroctl node start --node carol`') })
    // where $MERO_NODE names carol, a bare command is about carol: the hint needs no --node
    const env = await t.cli(['context', 'list', '--no-start', '--json'], { env: { MERO_NODE: 'carol' } })
    expect(err(env.stdout).message).toContain('`meroctl node start`,')
  })

  it('a mistyped node: did you mean, and how to create it', async () => {
    const r = await t.cli(['context', 'list', '--node', 'bobb', '--json'])
    expect(r.code).toBe(1)
    expect(err(r.stdout)).toMatchObject({ kind: 'NodeNotInitialized', message: expect.stringContaining("Did you mean 'bob'?"), data: { suggestions: ['bob'] } })
    expect(err(r.stdout).message).toContain('`meroctl node init --node bobb`')
  })

  it('mistyped group, context and alias names: did you mean, with hints for this node', async () => {
    const g = await t.cli(['group', 'get', 'teem', '--node', 'bob'])
    expect(g.code).toBe(1)
    expect(g.stderr).toContain("Did you mean 'team'?")
    expect(g.stderr).toContain('`meroctl group list --node bob`')
    const c = await t.cli(['context', 'get', 'notse', '--node', 'bob', '--json'])
    expect(err(c.stdout)).toMatchObject({ kind: 'AliasNotFound', code: 1307, data: { suggestions: ['notes'] }, message: expect.stringContaining('`meroctl alias list --kind context --node bob`') })
    const a = await t.cli(['app', 'get', 'kw', '--node', 'bob', '--json'])
    expect(err(a.stdout).data?.suggestions).toEqual(['kv'])
    const alias = await t.cli(['alias', 'rm', 'note', '--kind', 'context', '--node', 'bob', '--json'])
    expect(err(alias.stdout)).toMatchObject({ kind: 'AliasNotFound', message: expect.stringContaining("no context alias 'note'. Did you mean 'notes'?") })
    // nothing close: no guess
    const far = await t.cli(['group', 'get', 'something-else', '--node', 'bob', '--json'])
    expect(err(far.stdout).message).not.toMatch(/Did you mean/)
  })

  it('a mistyped command: did you mean, exit 2; under --json the error document with its code', async () => {
    const r = await t.cli(['grup', 'list'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("'grup list' is not a meroctl command. Did you mean 'group list'?")
    const j = await t.cli(['group', 'lst', '--json'])
    expect(j.code).toBe(2)
    expect(err(j.stdout)).toMatchObject({ kind: 'CommandNotFound', code: 1009, data: { suggestions: ['group list'] } })
  })
})
