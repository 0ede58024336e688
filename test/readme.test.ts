import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, runCommand, TestHome } from './helpers/harness.js'

/** The source files under a folder of the repository. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return /\.(ts|tsx|js|mjs)$/.test(e.name) ? [join(ROOT, p)] : []
  })
}

/** The shell blocks the README marks `<!-- walkthrough -->`, in order, verbatim. */
function walkthrough(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  return [...readme.matchAll(/<!-- walkthrough -->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

/** The README's walkthroughs run as written, in a fresh home (issue 18, item 9). */
describe('README', () => {
  const t = new TestHome()
  afterAll(async () => {
    await t.cleanup()
  })

  it('its walkthrough blocks run verbatim, in order, in a fresh home', async () => {
    const blocks = walkthrough()
    expect(blocks.length).toBeGreaterThanOrEqual(5)
    const script = join(t.home, 'walkthrough.sh')
    // each block as written; a failing command stops the run and names its block
    writeFileSync(script, blocks.map((b, i) => `echo "=== block ${i + 1}" >&2\n${b}`).join('\n'))
    const { code, stdout, stderr } = await runCommand('bash', ['-O', 'expand_aliases', '-e', '-o', 'pipefail', script], {
      cwd: ROOT,
      env: { MERO_HOME: t.home, COLUMNS: '80' },
      timeoutMs: 170_000,
    })
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0)
    // what the walkthrough promises
    expect(stdout).toMatch(/Initialised node 'default'/)
    expect(stdout).toMatch(/alice\s+│ running/)
    expect(stdout).toMatch(/Joined\n\s*group/)
    expect(stdout).toMatch(/Connected to 12D3KooW/)
    expect(stdout).toMatch(/"a": "1"|"key": "a"/) // bob sees alice's entry
    expect(stdout).toMatch(/\{"result":null,"events":\[/) // call --batch answers, one per line
    expect(stdout).toMatch(/The daemon is running: restart it to apply the change/)
    for (const n of ['alice', 'bob', 'carol']) expect(t.holder(n)).toBeUndefined() // all stopped
  }, 180_000)

  it('names nothing outside the repository; npm installs the man pages; every declared dependency is used', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(readme).not.toMatch(/\.\.\/shared|DESIGN\.md/)
    for (const [, path] of readme.matchAll(/`(docs\/[\w./-]+)`/g)) expect(existsSync(join(ROOT, path!)), path).toBe(true)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.man).toEqual(['./man/man1/meroctl.1', './man/man1/merod.1'])
    for (const page of pkg.man) expect(readFileSync(join(ROOT, page), 'utf8')).toMatch(/^\.TH MERO/)
    expect(pkg.files).toContain('man')
    // no declared dependency goes unused (borsh was; undici came back with app install <url>)
    const code = ['src', 'bin', 'scripts'].flatMap(sourceFiles).map((f) => readFileSync(f, 'utf8')).join('\n')
    const imported = new Set([...code.matchAll(/(?:from\s+|import\(\s*|require\(\s*)['"]((?:@[\w.-]+\/)?[\w.-]+)(?:\/[^'"]*)?['"]/g)].map((m) => m[1]!))
    const unused = Object.keys(pkg.dependencies).filter((d) => !imported.has(d) && !pkg.oclif.plugins.includes(d))
    expect(unused).toEqual([])
    expect(Object.keys(pkg.dependencies)).not.toContain('borsh')
  })
})
