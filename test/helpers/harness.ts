import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RpcClient } from '../../src/client/rpc-client.js'
import { pidFileHolder, processIdentity, readPidFile, signalIfSame } from '../../src/home/pid-file.js'

/**
 * Real processes in temp homes: `meroctl` and `merod` run from the built dist/, every daemon a
 * test starts is killed and every temp folder removed in `cleanup()`, even when the test fails.
 */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const MEROCTL = join(ROOT, 'bin/run.js')
export const MEROD = join(ROOT, 'bin/merod.js')
export const LOOPBACK = '/ip4/127.0.0.1/tcp/0'

export interface RunResult {
  code: number | null
  stdout: string
  /** stdout as the bytes written (binary output such as `blob get` to a pipe). */
  stdoutBytes: Buffer
  stderr: string
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
}

export function run(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runCommand(process.execPath, [bin, ...args], opts)
}

/** Any program, with the same capture, environment and bound as `run` (`cwd` optional). */
export function runCommand(command: string, args: string[], opts: RunOptions & { cwd?: string } = {}): Promise<RunResult> {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', MERO_HOME: undefined, MERO_NODE: undefined, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin!.end(opts.input ?? '')
  return outcome(child, `${command === process.execPath ? '' : `${command} `}${args.join(' ')}`, opts.timeoutMs ?? 30_000)
}

/** A child's exit code and output; killed (and rejected) when it runs past `timeoutMs`. */
export function outcome(child: ChildProcess, what: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = []
    let stderr = ''
    const stdoutText = () => Buffer.concat(out).toString('utf8')
    child.stdout!.on('data', (d: Buffer) => out.push(d))
    child.stderr!.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${what} did not finish within ${timeoutMs} ms\nstdout: ${stdoutText()}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: stdoutText(), stdoutBytes: Buffer.concat(out), stderr })
    })
  })
}

/** A temp mero home (short path: the socket path must stay under 108 bytes). */
export class TestHome {
  readonly home: string
  private readonly children = new Set<ChildProcess>()

  constructor() {
    this.home = mkdtempSync('/tmp/mero-t-')
  }

  nodeDir(node = 'default'): string {
    return join(this.home, node)
  }

  /** meroctl with --home set. */
  cli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(MEROCTL, [...args, '--home', this.home], opts)
  }

  /** meroctl --json, parsed; throws with the output when the exit code is not 0. */
  async json<T = any>(args: string[], opts: RunOptions = {}): Promise<T> {
    const r = await this.cli([...args, '--json'], opts)
    if (r.code !== 0) throw new Error(`meroctl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }

  merod(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(MEROD, ['--home', this.home, ...args], opts)
  }

  /** Initialises a node on loopback (ephemeral port unless `listen` is given). */
  async init(node = 'default', extra: string[] = []): Promise<{ identity: string; peerId: string }> {
    return this.json(['node', 'init', '--node', node, ...(extra.some((a) => a === '--listen') ? [] : ['--listen', LOOPBACK]), ...extra])
  }

  async start(node = 'default'): Promise<{ identity: string; peerId: string; pid: number; socket: string }> {
    return this.json(['node', 'start', '--node', node])
  }

  /** Edits config.toml with a function over its text (the daemon must be restarted to see it). */
  editConfig(node: string, edit: (text: string) => string): void {
    const path = join(this.nodeDir(node), 'config.toml')
    writeFileSync(path, edit(readFileSync(path, 'utf8')))
  }

  rpc(node = 'default'): RpcClient {
    return new RpcClient(join(this.nodeDir(node), 'merod.sock'), { timeoutMs: 10_000 })
  }

  /** The pid the node's pid file names (whoever now holds that pid). */
  pid(node = 'default'): number | undefined {
    return readPidFile(join(this.nodeDir(node), 'merod.pid'))?.pid
  }

  /** The node's merod, when its pid file provably names a live one. */
  holder(node = 'default') {
    return pidFileHolder(join(this.nodeDir(node), 'merod.pid'))
  }

  /** A long-running process of ours (e.g. `merod run` in the foreground) to kill at cleanup. */
  track(child: ChildProcess): ChildProcess {
    this.children.add(child)
    child.on('exit', () => this.children.delete(child))
    return child
  }

  /** Kills every daemon of this home and removes the folder. Safe to call twice. */
  async cleanup(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL')
    if (existsSync(this.home)) {
      // only processes proved to be this home's daemons: a pid file may name a reused pid
      for (const node of readdirSync(this.home)) {
        const holder = this.holder(node)
        if (holder) signalIfSame(holder, 'SIGKILL')
      }
      await waitFor(() => readdirSync(this.home).every((n) => !this.holder(n)), 3_000).catch(() => undefined)
    }
    rmSync(this.home, { recursive: true, force: true })
  }
}

/** Whether a process runs: an exited process not yet reaped (a zombie) does not. */
export function alive(pid: number): boolean {
  return processIdentity(pid) !== undefined
}

/** Polls `check` until it returns a truthy value or the time runs out (then throws). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v) return v as NonNullable<T>
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`)
}

/**
 * Waits until the labelled counter `metric{reason="…"}` on a node's /metrics is at least 1 for
 * every one of `reasons`; on a timeout, the error shows the family's lines as they last were.
 */
export async function waitForDropCounts(scrape: () => Promise<string>, metric: string, reasons: string[], timeoutMs = 5_000): Promise<void> {
  const count = (text: string, reason: string) => Number(new RegExp(`${metric}\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0)
  let last = ''
  await waitFor(async () => {
    last = await scrape()
    return reasons.every((r) => count(last, r) >= 1)
  }, timeoutMs).catch((e) => {
    throw new Error(`${(e as Error).message}; metrics: ${last.split('\n').filter((l) => l.startsWith(metric)).join(' | ')}`)
  })
}

/** Collects the node events of `types` from a daemon's /events until `stop()` (which resolves once the stream closed). */
export async function collectEvents<E = Record<string, unknown>>(rpc: RpcClient, types: string[]): Promise<{ events: E[]; stop: () => Promise<void> }> {
  const events: E[] = []
  const listening = new AbortController()
  let opened!: () => void
  const open = new Promise<void>((r) => (opened = r))
  const stream = rpc.events({ types }, (e) => events.push(e as E), listening.signal, () => opened())
  await open
  return {
    events,
    stop: async () => {
      listening.abort()
      await stream
    },
  }
}

/**
 * meroctl on a pseudo-terminal (util-linux `script`); `answer` is typed into it once the screen
 * shows `prompt` (a question). Resolves with everything the terminal showed (stdout and stderr
 * mixed, as a person sees them).
 */
export function onTerminal(t: TestHome, args: string[], answer = '', prompt = /\[y\/N\]/): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, MEROCTL, ...args, '--home', t.home].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '1', COLUMNS: '100' }, stdio: ['pipe', 'pipe', 'pipe'] })
    let screen = ''
    let answered = !answer
    const seen = (d: Buffer) => {
      screen += d
      if (!answered && prompt.test(screen)) {
        answered = true
        child.stdin.write(answer)
      }
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', seen)
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, screen })
    })
  })
}
