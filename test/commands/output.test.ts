import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { MEROCTL, TestHome, waitFor } from '../helpers/harness.js'

const someone = () => toBase58(generateKeyPair().publicKey)

/** Tables fit 80 columns, ids shortened by one rule, --wide and -q (issue 18, item 2). */
describe('human output that fits', () => {
  const t = new TestHome()
  let groupId: string
  let contextId: string
  const members = [someone(), someone(), someone()]
  const at80 = { env: { COLUMNS: '80' } }

  const LISTS = [
    ['group', 'list'],
    ['group', 'members', 'team'],
    ['group', 'ops', 'team'],
    ['group', 'get', 'team'],
    ['context', 'list'],
    ['app', 'list'],
    ['blob', 'list'],
    ['invitation', 'list'],
    ['alias', 'list'],
    ['peers', 'list'],
    ['node', 'list'],
  ]

  beforeAll(async () => {
    await t.init('default')
    await t.init('other')
    await t.start('default')
    const other = await t.start('other')
    groupId = (await t.json(['group', 'create', '--alias', 'team'])).groupId
    await t.json(['group', 'add-members', 'team', ...members, '--role', 'member'])
    await t.json(['group', 'set-member-alias', 'team', members[0]!, 'a-rather-long-member-alias-for-width'])
    await t.json(['app', 'install', 'apps/kv-store/build/kv-store.wasm', '--alias', 'kv'])
    contextId = (await t.json(['context', 'create', '--group', 'team', '--app', 'kv', '--alias', 'notes-with-a-long-alias'])).contextId
    writeFileSync(join(t.home, 'blob.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7))
    await t.json(['blob', 'add', join(t.home, 'blob.bin')])
    await t.json(['invitation', 'create', 'team'])
    const status = await t.json(['node', 'status', '--node', 'other'])
    await t.json(['peers', 'connect', `${status.listenAddresses[0]}/p2p/${other.peerId}`])
  }, 90_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('every table fits 80 columns (COLUMNS=80, no terminal), with short ids', async () => {
    for (const args of LISTS) {
      const r = await t.cli(args, at80)
      expect(r.code, args.join(' ')).toBe(0)
      const lines = r.stdout.trimEnd().split('\n')
      for (const l of lines) expect(l.length, `${args.join(' ')}: ${l}`).toBeLessThanOrEqual(80)
      // no whole group id in a table (group get's key/value lines show its own ids whole)
      if (args[1] !== 'get') expect(r.stdout, args.join(' ')).not.toMatch(/[0-9a-f]{64}/)
    }
    const list = await t.cli(['group', 'list'], at80)
    expect(list.stdout).toContain(`${groupId.slice(0, 6)}…${groupId.slice(-4)}`)
    expect((await t.cli(['context', 'list'], at80)).stdout).toContain(`${contextId.slice(0, 6)}…${contextId.slice(-4)}`)
    // sizes in human units
    expect((await t.cli(['blob', 'list'], at80)).stdout).toMatch(/3\.00 MiB/)
  })

  it('--wide shows whole ids; --json always does', async () => {
    const wide = await t.cli(['group', 'members', 'team', '--wide'], at80)
    for (const m of members) expect(wide.stdout).toContain(m)
    const peers = await t.json(['peers', 'list'])
    expect(peers.peers[0].peerId).toMatch(/^12D3KooW\w{44}$/)
    expect((await t.cli(['peers', 'list', '--wide'])).stdout).toContain(peers.peers[0].peerId)
    const short = (await t.cli(['peers', 'list'], at80)).stdout
    expect(short).not.toContain(peers.peers[0].peerId)
    expect(short).toContain(`${peers.peers[0].peerId.slice(0, 6)}…${peers.peers[0].peerId.slice(-4)}`)
  })

  it('-q prints one whole id per line, for pipes', async () => {
    expect((await t.cli(['group', 'list', '-q'])).stdout).toBe(`${groupId}\n`)
    const ids = (await t.cli(['group', 'members', 'team', '-q'])).stdout.trim().split('\n')
    expect(ids).toHaveLength(4)
    expect(ids).toEqual(expect.arrayContaining(members))
    expect((await t.cli(['context', 'list', '-q'])).stdout).toBe(`${contextId}\n`)
    expect((await t.cli(['context', 'get', 'notes-with-a-long-alias', '-q'])).stdout).toBe(`${contextId}\n`)
    expect((await t.cli(['node', 'list', '-q'])).stdout).toBe('default\nother\n')
    const created = (await t.cli(['group', 'create', '-q'])).stdout.trim()
    expect(created).toMatch(/^[0-9a-f]{64}$/)
    const bad = await t.cli(['group', 'list', '-q', '--json'])
    expect(bad.code).toBe(2)
  })

  it('in tmux at 80 columns the tables fit the terminal', async () => {
    const socket = `mero-t-${process.pid}-${Date.now()}`
    const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' })
    try {
      const script = LISTS.filter((a) => a[1] !== 'get')
        .slice(0, 5)
        .map((a) => `"${process.execPath}" "${MEROCTL}" ${a.join(' ')} --home "${t.home}"`)
        .join('; ')
      const started = tmux('new-session', '-d', '-x', '80', '-y', '200', `env -u COLUMNS NO_COLOR=1 sh -c '${script}; echo END-OF-OUTPUT; sleep 30'`)
      expect(started.status, started.stderr).toBe(0)
      const screen = await waitFor(() => {
        const out = tmux('capture-pane', '-p', '-J', '-S', '-200').stdout
        return out.includes('END-OF-OUTPUT') ? out : undefined
      }, 30_000, 100)
      const lines = screen.split('\n').filter((l) => l.trim())
      expect(lines.some((l) => l.includes('│'))).toBe(true)
      for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80)
      expect(screen).not.toMatch(/[0-9a-f]{64}/)
      // -J joins wrapped lines: a line longer than 80 would show here
      expect(screen).toMatch(/\w{6}…\w{4}/)
    } finally {
      tmux('kill-server')
    }
  })
})
