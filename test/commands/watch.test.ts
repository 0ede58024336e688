import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { MEROCTL, TestHome } from '../helpers/harness.js'

const exec = promisify(execFile)

const FOOTER = 'q quit'

/** A private tmux server (its own socket), so tests never touch anyone's sessions. */
class Tmux {
  readonly socket = `mero-watch-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  readonly session = 'watch'

  run(args: string[]): Promise<{ stdout: string }> {
    return exec('tmux', ['-L', this.socket, ...args], { timeout: 5_000 })
  }

  start(command: string, columns: number, rows: number): Promise<unknown> {
    return this.run(['new-session', '-d', '-s', this.session, '-x', String(columns), '-y', String(rows), command])
  }

  async screen(): Promise<string> {
    return (await this.run(['capture-pane', '-p', '-t', this.session])).stdout
  }

  keys(...keys: string[]): Promise<unknown> {
    return this.run(['send-keys', '-t', this.session, ...keys])
  }

  async alive(): Promise<boolean> {
    try {
      await this.run(['has-session', '-t', this.session])
      return true
    } catch {
      return false
    }
  }

  async kill(): Promise<void> {
    await this.run(['kill-server']).catch(() => undefined)
  }

  /**
   * Polls the screen until `check` holds on a whole frame; returns it and how long it took. A frame
   * of 160×48 is ~23 KB, which reaches the terminal in pty-sized chunks, so a capture may land while
   * one is half drawn: only a screen that shows the footer (the frame's last line) counts.
   */
  async until(check: (screen: string) => boolean, timeoutMs: number, what: string): Promise<{ screen: string }> {
    const started = Date.now()
    let screen = ''
    while (Date.now() - started < timeoutMs) {
      screen = await this.screen().catch(() => screen)
      if (screen.includes(FOOTER) && check(screen)) return { screen }
      await new Promise((r) => setTimeout(r, 40))
    }
    throw new Error(`${what}: not on screen within ${timeoutMs} ms; the screen was:\n${screen}`)
  }
}

/** A clean frame: every part drawn exactly once (a renderer that loses track of lines duplicates them). */
function expectClean(screen: string): void {
  for (const part of ['mero watch ·', 'Groups (', 'Contexts (', 'Events ', FOOTER]) expect(screen.split(part).length - 1, `${part} in\n${screen}`).toBe(1)
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

describe('meroctl watch', () => {
  let t: TestHome
  let tmux: Tmux
  beforeEach(() => {
    t = new TestHome()
    tmux = new Tmux()
  })
  afterEach(async () => {
    await tmux.kill()
    await t.cleanup()
  })

  it('without a terminal it refuses and suggests meroctl events', async () => {
    const r = await t.cli(['watch'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/needs a terminal/)
    expect(r.stderr).toMatch(/meroctl events/)
    const json = await t.cli(['watch', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error.message).toMatch(/meroctl events --json/)
  })

  it('in a real terminal: shows a member added from another process and the op, says disconnected when the daemon stops, reconnects, quits on q', async () => {
    await t.init()
    await t.start()
    const group = await t.json<{ groupId: string; owner: string }>(['group', 'create', '--alias', 'team'])
    await tmux.start(`env TERM=xterm-256color NO_COLOR=1 ${shq(process.execPath)} ${shq(MEROCTL)} watch --home ${shq(t.home)} --no-start`, 160, 48)

    let { screen } = await tmux.until((s) => s.includes('● connected') && s.includes('team (') && s.includes(group.owner), 15_000, 'the connected watch with the group')
    expect(screen).toMatch(/mero watch · node default/)
    expect(screen).toContain('Groups (1)')
    expectClean(screen)

    const member = toBase58(generateKeyPair().publicKey)
    await t.json(['group', 'add-members', 'team', member, '--role', 'read-only'])
    // (how fast the screen follows the node is bench/tui-throughput.bench.mjs's to measure)
    const shown = await tmux.until((s) => s.includes(member) && /group \S+: member added by \S+ \(op /.test(s) && /member \S+ joined group \S+ as read-only/.test(s), 15_000, 'the new member and the op')
    expect(shown.screen).toMatch(new RegExp(`read-only\\s+${member}`)) // groups pane: the member with its role
    expect(shown.screen).toMatch(/team \(\w+…\w+\)\s+admin\s+2 members/)
    expectClean(shown.screen)

    await t.json(['node', 'stop'])
    screen = (await tmux.until((s) => s.includes('disconnected'), 5_000, 'the lost connection')).screen
    expect(screen).not.toContain('● connected')
    expectClean(screen)

    await t.start()
    screen = (await tmux.until((s) => s.includes('● connected'), 10_000, 'the reconnection')).screen
    expect(screen).toContain(member) // the snapshot reloaded after reconnecting
    expectClean(screen)

    await tmux.keys('q')
    const deadline = Date.now() + 5_000
    while ((await tmux.alive()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(await tmux.alive()).toBe(false)
  })
})
