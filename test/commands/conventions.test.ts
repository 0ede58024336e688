import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MEROCTL, ROOT, run, TestHome } from '../helpers/harness.js'

/** -h, version, completion, codes in JSON errors, examples everywhere (issue 18, item 5). */
describe('CLI conventions', () => {
  const t = new TestHome()

  beforeAll(async () => {
    await t.init()
    await t.start()
    await t.json(['group', 'create', '--alias', 'team'])
    await t.json(['group', 'create', '--alias', 'travel'])
    await t.json(['app', 'install', 'apps/kv-store/build/kv-store.wasm', '--alias', 'kv'])
    await t.json(['context', 'create', '--group', 'team', '--app', 'kv', '--alias', 'notes'])
  }, 60_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('-h is help; meroctl version, --version and -v, with --json', async () => {
    const h = await run(MEROCTL, ['group', 'list', '-h'])
    expect(h.code).toBe(0)
    expect(h.stdout).toMatch(/USAGE\s+\$ meroctl group list/)
    expect(h.stdout).toMatch(/EXAMPLES/)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    for (const args of [['version'], ['--version'], ['-v']]) {
      const r = await run(MEROCTL, args)
      expect(r.stdout).toMatch(new RegExp(`^meroctl ${pkg.version.replaceAll('.', '\\.')} \\(node v\\d+`))
    }
    const j = await run(MEROCTL, ['--version', '--json'])
    expect(JSON.parse(j.stdout)).toEqual({ name: 'meroctl', version: pkg.version, node: process.version, platform: `${process.platform}-${process.arch}` })
  })

  it('every command has an example in its help; usage errors carry a code under --json', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    const without = Object.values(manifest.commands as Record<string, { id: string; examples?: unknown[] }>).filter((c) => !c.examples?.length).map((c) => c.id)
    expect(without).toEqual([])
    const bad = await t.cli(['group', 'list', '--bogus', '--json'])
    expect(bad.code).toBe(2)
    expect(JSON.parse(bad.stdout).error).toMatchObject({ kind: 'UsageError', code: 1008, message: expect.stringMatching(/--bogus/) })
    const missing = await t.cli(['group', 'get', '--json'])
    expect(JSON.parse(missing.stdout).error).toMatchObject({ kind: 'UsageError', code: 1008 })
    const logs = await t.json(['node', 'logs', '-n', '2'])
    expect(Array.isArray(logs)).toBe(false)
    expect(logs.records).toHaveLength(2)
  })

  it('bash completion: commands, flags, options, and the running node\'s group and context names', async () => {
    const script = (await t.cli(['autocomplete', 'bash'])).stdout
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0)
    const complete = (...words: string[]) => {
      const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _meroctl; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' })
      return r.stdout.split('\n').filter(Boolean).sort()
    }
    expect(complete('meroctl', 'gr')).toEqual(['group'])
    expect(complete('meroctl', 'group', 'se')).toEqual(['set-alias', 'set-capabilities', 'set-default-capabilities', 'set-default-visibility', 'set-member-alias', 'set-role'])
    expect(complete('meroctl', '--home', t.home, 'group', 'get', 't')).toEqual(['team', 'travel'])
    expect(complete('meroctl', '--home', t.home, 'context', 'get', 'n')).toEqual(['notes'])
    expect(complete('meroctl', '--home', t.home, 'call', '')).toEqual(['notes'])
    expect(complete('meroctl', 'context', 'set-visibility', 'notes', '')).toEqual(['open', 'restricted'])
    expect(complete('meroctl', 'group', 'list', '--w')).toEqual(['--wide'])
    expect(complete('meroctl', 'events', '--type', 'group.member.a')).toEqual(['group.member.added'])
    expect(complete('meroctl', '--home', t.home, 'node', 'status', '--node', '')).toEqual(['default'])
  })

  it('zsh and fish scripts call the same completer', async () => {
    const zsh = (await t.cli(['autocomplete', 'zsh'])).stdout
    expect(zsh).toMatch(/^#compdef meroctl/)
    expect(zsh).toMatch(/compdef _meroctl meroctl/)
    const fish = await t.json(['autocomplete', 'fish'])
    expect(fish.shell).toBe('fish')
    expect(fish.script).toMatch(/complete -c meroctl -f -a '\(__meroctl_complete\)'/)
    const main = /'([^']*completion-main\.js)'/.exec(zsh)![1]!
    expect(/'([^']*completion-main\.js)'/.exec(fish.script)![1]).toBe(main)
    // the completer itself, as fish calls it (cword, then the words)
    const r = spawnSync(process.execPath, [main, '5', 'meroctl', '--home', t.home, 'group', 'members', 'tr'], { encoding: 'utf8' })
    expect(r.stdout).toBe('travel\n')
    // and it never starts a daemon
    const none = spawnSync(process.execPath, [main, '7', 'meroctl', '--node', 'nobody', '--home', t.home, 'group', 'get', ''], { encoding: 'utf8' })
    expect(none.status).toBe(0)
    expect(none.stdout).toBe('')
  })
})
