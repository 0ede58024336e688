import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { onTerminal, TestHome } from '../helpers/harness.js'

const someone = () => toBase58(generateKeyPair().publicKey)

/** One confirmation rule for destructive commands (issue 18, item 7). */
describe('confirmation of destructive commands', () => {
  const t = new TestHome()
  const [a, b] = [someone(), someone()]
  const members = async () => (await t.json(['group', 'members', 'team'])).members.map((m: { identity: string }) => m.identity) as string[]

  beforeAll(async () => {
    await t.init()
    await t.start()
    await t.json(['group', 'create', '--alias', 'team'])
    await t.json(['group', 'add-members', 'team', a, b])
  }, 60_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('the input is checked before anything is asked: a wrong id fails as such, on a terminal too', async () => {
    const r = await t.cli(['blob', 'rm', '1111', '--json'])
    expect(r.code).not.toBe(0)
    expect(JSON.parse(r.stdout).error.kind).not.toBe('ConfirmationRequired')
    const tty = await onTerminal(t, ['blob', 'rm', '1111'])
    expect(tty.code).not.toBe(0)
    expect(tty.screen).not.toMatch(/\[y\/N\]/)
    const notMember = await t.cli(['group', 'remove-members', 'team', someone(), '--json'])
    expect(JSON.parse(notMember.stdout).error.kind).toBe('MemberNotFound')
    const noGroup = await t.cli(['group', 'delete', 'teem', '--json'])
    expect(JSON.parse(noGroup.stdout).error).toMatchObject({ kind: 'GroupNotFound', message: expect.stringContaining("Did you mean 'team'?") })
  })

  it('remove-members: --yes when not on a terminal; asked on one (no keeps them, yes removes)', async () => {
    const refused = await t.cli(['group', 'remove-members', 'team', a, '--json'])
    expect(refused.code).toBe(2)
    expect(JSON.parse(refused.stdout).error).toMatchObject({ kind: 'ConfirmationRequired', code: 1012, message: expect.stringMatching(/refusing without --yes/) })
    expect(await members()).toContain(a)

    const no = await onTerminal(t, ['group', 'remove-members', 'team', a], 'n\n')
    expect(no.screen).toMatch(new RegExp(`Remove 1 member \\(${a}\\) from group [0-9a-f]{64}, and from its contexts\\? \\[y/N\\]`))
    expect(no.code).toBe(1)
    expect(no.screen).toMatch(/cancelled/)
    expect(await members()).toContain(a)

    const yes = await onTerminal(t, ['group', 'remove-members', 'team', a], 'y\n')
    expect(yes.code).toBe(0)
    expect(yes.screen).toMatch(/Removed 1 member from/)
    expect(await members()).not.toContain(a)
    expect(await t.json(['group', 'remove-members', 'team', b, '--yes'])).toMatchObject({ removed: [b] })
  })

  it('node init --force: checked, then asked on a terminal, --yes otherwise', async () => {
    const key = () => readFileSync(join(t.nodeDir('spare'), 'identity.key'), 'utf8')
    await t.init('spare')
    const before = key()
    const bad = await t.cli(['node', 'init', '--node', 'spare', '--force', '--listen', 'nonsense', '--json'])
    expect(JSON.parse(bad.stdout).error.kind).toBe('InvalidInput') // the input first
    const refused = await t.cli(['node', 'init', '--node', 'spare', '--force', '--json'])
    expect(refused.code).toBe(2)
    expect(JSON.parse(refused.stdout).error.kind).toBe('ConfirmationRequired')
    const no = await onTerminal(t, ['node', 'init', '--node', 'spare', '--force'], 'n\n')
    expect(no.screen).toMatch(/Replace node 'spare' .*: its identity, config and data are deleted, for good\? \[y\/N\]/)
    expect(key()).toBe(before)
    const running = await t.cli(['node', 'init', '--force', '--yes', '--json'])
    expect(JSON.parse(running.stdout).error.kind).toBe('AlreadyRunning')
    await t.json(['node', 'init', '--node', 'spare', '--force', '--yes', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(key()).not.toBe(before)
  })
})
