import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alive, MEROCTL, MEROD, run, TestHome, waitFor } from '../helpers/harness.js'

const mode = (p: string) => statSync(p).mode & 0o777

describe('meroctl node', () => {
  let t: TestHome
  beforeEach(() => {
    t = new TestHome()
  })
  afterEach(async () => {
    await t.cleanup()
  })

  it('init creates a private folder, a 0600 key and a documented config; a second init changes nothing', async () => {
    const r = await t.cli(['node', 'init', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Initialised node 'default'/)
    expect(r.stdout).toMatch(/peer id\s+12D3KooW/)
    const dir = t.nodeDir()
    expect(mode(dir)).toBe(0o700)
    expect(mode(join(dir, 'identity.key'))).toBe(0o600)
    const config = readFileSync(join(dir, 'config.toml'), 'utf8')
    for (const key of ['listen', 'bootstrap', 'mdns', 'group_heartbeat_secs', 'instruction_budget', 'tombstone_retention_secs', 'max_body_bytes', 'heartbeat_secs', 'level']) {
      expect(config).toMatch(new RegExp(`# .*\\n${key} = `))
    }
    const key = readFileSync(join(dir, 'identity.key'), 'utf8')

    const again = await t.cli(['node', 'init', '--json'])
    expect(again.code).toBe(1)
    expect(JSON.parse(again.stdout).error).toMatchObject({ kind: 'NodeAlreadyInitialized', message: expect.stringMatching(/--force/) })
    expect(readFileSync(join(dir, 'identity.key'), 'utf8')).toBe(key)
    expect(readFileSync(join(dir, 'config.toml'), 'utf8')).toBe(config)

    const forced = await t.json(['node', 'init', '--force', '--yes', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(readFileSync(join(dir, 'identity.key'), 'utf8')).not.toBe(key)
    expect(forced.identity).toBeTruthy()
  })

  it('global flags may come before the command, as with git or kubectl', async () => {
    const r = await run(MEROCTL, ['--home', t.home, '--node', 'early', 'node', 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'])
    expect(r.code).toBe(0)
    expect(existsSync(join(t.nodeDir('early'), 'identity.key'))).toBe(true)
    const list = await run(MEROCTL, [`--home=${t.home}`, '--json', 'node', 'list'])
    expect(JSON.parse(list.stdout).nodes.map((n: { node: string }) => n.node)).toEqual(['early'])
  })

  it('init without --listen takes port 2428 or the next free one, distinct per node of a home', async () => {
    const a = await t.json(['node', 'init', '--node', 'a'])
    const b = await t.json(['node', 'init', '--node', 'b'])
    const port = (l: string[]) => Number(/tcp\/(\d+)/.exec(l[0]!)![1])
    expect(port(a.listen)).toBeGreaterThanOrEqual(2428)
    expect(port(b.listen)).toBeGreaterThan(port(a.listen))
  })

  it('init rejects a malformed multiaddr with a usage error', async () => {
    const r = await t.cli(['node', 'init', '--listen', 'localhost:80', '--json'])
    expect(r.code).toBe(2)
    expect(JSON.parse(r.stdout).error.message).toMatch(/'localhost:80' is not a multiaddr/)
    expect(existsSync(t.nodeDir())).toBe(false)
  })

  it('start, status, stop, restart: human and --json', async () => {
    const init = await t.init()
    const started = await t.start()
    expect(started).toMatchObject({ identity: init.identity, peerId: init.peerId, alreadyRunning: false })
    expect(mode(started.socket)).toBe(0o600)

    const human = await t.cli(['node', 'status'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(new RegExp(`identity\\s+${init.identity}`))
    expect(human.stdout).toMatch(/uptime\s+\d+s/)
    const status = await t.json(['node', 'status'])
    expect(status).toMatchObject({ identity: init.identity, peerId: init.peerId, nodeName: 'default', pid: started.pid, socket: started.socket, home: t.home })
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0)

    const again = await t.json(['node', 'start'])
    expect(again).toMatchObject({ alreadyRunning: true, pid: started.pid })

    const restarted = await t.json(['node', 'restart'])
    expect(restarted.pid).not.toBe(started.pid)
    expect(restarted.wasRunning).toBe(true)
    expect(alive(started.pid)).toBe(false)

    const stop = await t.cli(['node', 'stop'])
    expect(stop.stdout).toMatch(/Stopped node 'default'/)
    expect(alive(restarted.pid)).toBe(false)
    expect(existsSync(started.socket)).toBe(false)
    expect(existsSync(join(t.nodeDir(), 'merod.pid'))).toBe(false)
    expect(await t.json(['node', 'stop'])).toEqual({ node: 'default', stopped: false })

    const noStart = await t.cli(['node', 'status', '--no-start', '--json'])
    expect(noStart.code).toBe(1)
    expect(JSON.parse(noStart.stdout).error).toMatchObject({ kind: 'DaemonNotRunning', message: expect.stringMatching(/meroctl node start/) })
  })

  it('any command that needs the daemon starts it, detached, and it outlives the command', async () => {
    await t.init()
    const status = await t.json(['node', 'status'])
    expect(alive(status.pid)).toBe(true)
    const second = await t.json(['node', 'status'])
    expect(second.pid).toBe(status.pid)
  })

  it('a daemon that fails to start is reported with the tail of its log', async () => {
    await t.init()
    t.editConfig('default', (c) => c.replace(/level = "info"/, 'level = "loud"'))
    const r = await t.cli(['node', 'start', '--json'])
    expect(r.code).toBe(1)
    const { error } = JSON.parse(r.stdout)
    expect(error.kind).toBe('DaemonStartFailed')
    expect(error.message).toMatch(/merod exited with code 1; see .*merod\.log/)
    expect(error.message).toMatch(/'log.level'/)
  })

  it('a command on an uninitialised node says how to fix it', async () => {
    const r = await t.cli(['node', 'status', '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'NodeNotInitialized', message: expect.stringMatching(/meroctl node init/) })
  })

  it('recovers from a daemon killed with SIGKILL: stale socket and pid file are cleaned up', async () => {
    await t.init()
    const first = await t.start()
    process.kill(first.pid, 'SIGKILL')
    await waitFor(() => !alive(first.pid))
    expect(existsSync(first.socket)).toBe(true) // stale
    expect(t.pid()).toBe(first.pid) // stale
    const fresh = await t.json(['node', 'status'])
    expect(fresh.pid).not.toBe(first.pid)
    expect(alive(fresh.pid)).toBe(true)
  })

  it('runs two nodes of one home side by side, and lists them', async () => {
    const a = await t.init('a')
    const b = await t.init('b')
    const sa = await t.start('a')
    const sb = await t.start('b')
    expect(sa.pid).not.toBe(sb.pid)
    expect((await t.json(['node', 'status', '--node', 'a'])).identity).toBe(a.identity)
    expect((await t.json(['node', 'status', '--node', 'b'])).identity).toBe(b.identity)
    await t.json(['node', 'stop', '--node', 'a'])
    const list = await t.json(['node', 'list'])
    expect(list.nodes).toEqual([
      expect.objectContaining({ node: 'a', running: false, identity: a.identity }),
      expect.objectContaining({ node: 'b', running: true, pid: sb.pid, identity: b.identity }),
    ])
    const human = await t.cli(['node', 'list'])
    expect(human.stdout).toMatch(/a\s+│ stopped/)
    expect(human.stdout).toMatch(/b\s+│ running/)
  })

  it('logs shows the last lines readably, as JSON, and follows new ones', async () => {
    await t.init()
    await t.start()
    const human = await t.cli(['node', 'logs', '-n', '5'])
    expect(human.stdout).toMatch(/INFO\s+merod ready/)
    const { records } = await t.json(['node', 'logs', '-n', '1'])
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ level: 30, msg: 'merod ready' })

    const follower = t.track(spawn(process.execPath, [MEROCTL, 'node', 'logs', '-f', '-n', '1', '--home', t.home], { env: { ...process.env, NO_COLOR: '1' } }))
    let out = ''
    follower.stdout!.on('data', (d) => (out += d))
    // the last line printed: it has read the log, and follows it from there
    await waitFor(() => out.includes('\n'), 15_000)
    await t.json(['node', 'stop'])
    await waitFor(() => /merod stopped/.test(out), 5_000)
    follower.kill('SIGINT')
  })

  it('stops on SIGTERM, closing the socket and removing the pid file', async () => {
    await t.init()
    const s = await t.start()
    // (how fast is merod.sigterm_to_exit in bench/node.bench.mjs)
    process.kill(s.pid, 'SIGTERM')
    await waitFor(() => !alive(s.pid), 15_000, 10)
    expect(existsSync(s.socket)).toBe(false)
    expect(t.pid()).toBeUndefined()
    expect(readFileSync(join(t.nodeDir(), 'merod.log'), 'utf8')).toMatch(/"msg":"merod stopped"/)
  })
})

describe('meroctl node: process safety', () => {
  let t: TestHome
  beforeEach(() => {
    t = new TestHome()
  })
  afterEach(async () => {
    await t.cleanup()
  })

  const pidFile = () => join(t.nodeDir(), 'merod.pid')
  const procState = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    } catch {
      return undefined
    }
  }

  it('stop and start never signal a process the pid file names unless it is this node\'s merod', async () => {
    await t.init()
    const foreign = t.track(spawn('sleep', ['60'], { stdio: 'ignore' }))
    const foreignPid = foreign.pid!
    // the old pid-only form, and the current form with another start time: a reused pid
    for (const text of [`${foreignPid}\n`, `${JSON.stringify({ pid: foreignPid, start: '1' })}\n`]) {
      writeFileSync(pidFile(), text)
      const stopped = await t.json(['node', 'stop'])
      expect(stopped).toMatchObject({ stopped: false })
      expect(alive(foreignPid)).toBe(true)
      expect(existsSync(pidFile())).toBe(false) // cleaned as stale
    }
    writeFileSync(pidFile(), `${JSON.stringify({ pid: foreignPid, start: '1' })}\n`)
    const began = Date.now()
    const started = await t.start()
    expect(Date.now() - began).toBeLessThan(10_000) // not the 15 s ready window spent on a stranger
    expect(started.pid).not.toBe(foreignPid)
    expect(t.holder()?.pid).toBe(started.pid)
    expect(await t.json(['node', 'stop'])).toMatchObject({ stopped: true })
    expect(alive(foreignPid)).toBe(true)
    expect(alive(started.pid)).toBe(false)
  })

  it('a merod killed with SIGKILL and not yet reaped (a zombie) counts as gone', async () => {
    await t.init()
    // merod as the child of a process that never reaps its children: killed, it stays a zombie
    const parent = t.track(spawn('sh', ['-c', `"${process.execPath}" "${MEROD}" --home "${t.home}" run >/dev/null 2>&1 & exec sleep 60`], { stdio: 'ignore' }))
    await waitFor(() => t.pid() !== undefined && existsSync(join(t.nodeDir(), 'merod.sock')), 20_000)
    const merodPid = t.pid()!
    expect((await t.json(['node', 'status', '--no-start'])).pid).toBe(merodPid)
    process.kill(merodPid, 'SIGKILL')
    await waitFor(() => procState(merodPid) === 'Z', 5_000)
    expect(() => process.kill(merodPid, 0)).not.toThrow() // a zombie still answers kill(pid, 0)

    expect(await t.json(['node', 'stop'])).toMatchObject({ stopped: false })
    const began = Date.now()
    const fresh = await t.json(['node', 'status'])
    expect(Date.now() - began).toBeLessThan(10_000)
    expect(fresh.pid).not.toBe(merodPid)
    expect(alive(parent.pid!)).toBe(true)
  })
})

describe('merod security', () => {
  let t: TestHome
  beforeEach(() => {
    t = new TestHome()
  })
  afterEach(async () => {
    await t.cleanup()
  })

  it('refuses to run when the node folder is writable by group or others', async () => {
    await t.init()
    chmodSync(t.nodeDir(), 0o770)
    const r = await t.merod(['run'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/writable by group or others \(mode 770\); run: chmod 700/)
    expect(existsSync(join(t.nodeDir(), 'merod.sock'))).toBe(false)
    const viaCli = await t.cli(['node', 'start', '--json'])
    expect(viaCli.code).toBe(1)
    expect(JSON.parse(viaCli.stdout).error.message).toMatch(/writable by group or others/)
  })

  it('a second merod run on the same node fails naming the running pid', async () => {
    await t.init()
    const s = await t.start()
    const r = await t.merod(['run'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`already running for this node \\(pid ${s.pid}\\)`))
    expect((await t.json(['node', 'status'])).pid).toBe(s.pid) // the first one is untouched
  })

  it('refuses a config with an unknown key or a wrong type, naming it', async () => {
    await t.init()
    t.editConfig('default', (c) => c.replace('[sync]', '[sync]\nbogus_key = 1'))
    let r = await t.merod(['run'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/unknown key 'sync.bogus_key'/)
    t.editConfig('default', (c) => c.replace('bogus_key = 1\n', '').replace(/timeout_secs = \d+/, 'timeout_secs = "soon"'))
    r = await t.merod(['run'])
    expect(r.stderr).toMatch(/'sync.timeout_secs'/)
  })

  it('refuses a home whose socket path would be too long, suggesting a shorter --home', async () => {
    const r = await run(MEROD, ['--home', join(t.home, 'x'.repeat(100)), 'init'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/longer than the 107 the kernel allows; use a shorter --home/)
    expect(existsSync(join(t.home, 'x'.repeat(100)))).toBe(false)
  })
})
