import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERROR_KINDS, MeroError, type ErrorKind } from '../core/primitives/errors.js'
import { didYouMean, suggest } from '../core/primitives/suggest.js'
import { defaultNodeName, resolveNodeHome, type NodeHome } from '../home/paths.js'
import { pidFileHolder, processIdentity, readPidFile, sameProcess, signalIfSame, type ProcessIdentity } from '../home/pid-file.js'
import type { RpcResult } from '../api/methods.js'
import type { RepairReport, RestoreResult } from '../api/node-files.js'
import { nodeNames } from './node-names.js'
import { ConnectionError, RpcClient, type RpcClientOptions } from './rpc-client.js'

/** node.status as the daemon returns it. */
/** What `node.status` answers (api/methods.ts). */
export type NodeStatus = RpcResult<'node.status'>

export const READY_TIMEOUT_MS = 15_000
/**
 * V8 flags merod runs with. A 4 MiB young generation (V8's default is 16 MiB) keeps an idle
 * node near 110 MB instead of about 122 MB.
 */
export const MEROD_NODE_FLAGS = ['--max-semi-space-size=4']
/**
 * glibc settings merod runs with (docs/memory.md, "The allocator"): two malloc arenas instead of
 * one per thread, and blocks of 64 KiB and more (RocksDB's write-buffer blocks) mapped on their
 * own, so that what is freed goes back to the system. A setting already in the environment wins.
 */
export const MEROD_MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536' })

/** The environment merod starts in: `base`, with the allocator settings it does not set itself. */
export function merodEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MEROD_MALLOC_ENV, ...base }
}
export const STOP_TIMEOUT_MS = 8_000

/** What `merod init` takes from meroctl. */
export interface InitArgs {
  listen?: string[]
  bootstrap?: string[]
  force?: boolean
  /** Encrypt the store at rest under the key in this file (made when absent). */
  encryptionKeyFile?: string
}
const MERO_BIN = fileURLToPath(new URL('../../bin/merod.js', import.meta.url))

/**
 * Finds, starts and stops the merod of a node folder: meroctl's side of the daemon's lifecycle.
 * It signals a process only once it has proved it is this node's merod (home/pid-file.ts):
 * a pid file naming a reused pid, a zombie or garbage names nobody, and is cleaned away.
 */
export class DaemonManager {
  readonly home: NodeHome

  constructor(home?: string, node?: string) {
    this.home = resolveNodeHome(home, node)
  }

  get initialized(): boolean {
    return existsSync(this.home.config) && existsSync(this.home.identityKey)
  }

  client(timeoutMs?: number, opts: RpcClientOptions = {}): RpcClient {
    return new RpcClient(this.home.socket, { timeoutMs, ...opts })
  }

  /** node.status when a daemon answers, undefined when none does. */
  async probe(timeoutMs = 3_000): Promise<NodeStatus | undefined> {
    if (!existsSync(this.home.socket)) return undefined
    const client = this.client(timeoutMs)
    try {
      return await client.call('node.status')
    } catch (e) {
      if (e instanceof ConnectionError) return undefined
      throw e
    } finally {
      client.close()
    }
  }

  /** A client to a running daemon, starting one (detached) when none answers and `autoStart`; `onStart` hears that it does. */
  async ensureRunning(autoStart: boolean, opts: RpcClientOptions = {}, onStart?: () => void): Promise<RpcClient> {
    if (await this.probe(Math.min(3_000, opts.timeoutMs ?? 3_000))) return this.client(undefined, opts)
    if (!autoStart) {
      throw new MeroError('DaemonNotRunning', `no daemon is running for node '${this.home.node}' (${this.home.dir}); start it with \`meroctl node start${this.nodeFlag}\`, or drop --no-start`)
    }
    if (this.initialized) onStart?.()
    await this.start()
    return this.client(undefined, opts)
  }

  /** Runs `merod init --dry-run`: checks the arguments and the node, changes nothing. */
  async checkInit(opts: InitArgs): Promise<{ node: string; dir: string; exists: boolean }> {
    return this.init({ ...opts, dryRun: true }) as unknown as Promise<{ node: string; dir: string; exists: boolean }>
  }

  /** Runs `merod init` for this node (same flags); returns what it printed under --json. */
  async init(opts: InitArgs & { dryRun?: boolean }): Promise<{ node: string; dir: string; identity: string; peerId: string; listen: string[]; encryption?: { keyFile: string; keyId: string; created: boolean } }> {
    const args = ['init', ...(opts.dryRun ? ['--dry-run'] : [])]
    for (const a of opts.listen ?? []) args.push('--listen', a)
    for (const a of opts.bootstrap ?? []) args.push('--bootstrap', a)
    if (opts.force) args.push('--force')
    if (opts.encryptionKeyFile !== undefined) args.push('--encryption-key-file', resolve(opts.encryptionKeyFile))
    return this.merod(args)
  }

  /** Runs an offline `merod <command> --json` for this node (init, config, repair, restore): its JSON, or its error as a MeroError. */
  async merod<T = any>(args: string[]): Promise<T> {
    const { code, stdout, stderr } = await runProcess(process.execPath, [MERO_BIN, '--home', this.home.home, '--node', this.home.node, ...args, '--json'])
    if (code !== 0) {
      const typed = parseError(stderr)
      if (typed) throw new MeroError(typed.kind, typed.message)
      const message = stderr.trim().replace(/^merod: /, '').split('\n\n')[0]!
      const kind = /already exists/.test(message) ? 'NodeAlreadyInitialized' : /is running/.test(message) ? 'AlreadyRunning' : /^no config at/.test(message) ? 'NodeNotInitialized' : code === 2 ? 'InvalidInput' : 'Internal'
      throw new MeroError(kind, message)
    }
    return JSON.parse(stdout) as T
  }

  /**
   * Runs `merod repair` on this node's store (the daemon must be stopped) and returns its report:
   * what was damaged, recovered and lost.
   */
  async repair(): Promise<RepairReport> {
    if (!this.initialized) {
      throw new MeroError('NodeNotInitialized', `node '${this.home.node}' is not initialised in ${this.home.home}; run \`meroctl node init\` first`)
    }
    if (await this.probe()) throw new MeroError('AlreadyRunning', `node '${this.home.node}' is running: its store opened, so there is nothing to repair; stop it first (\`meroctl node stop${this.nodeFlag}\`) to check it anyway`)
    return this.merod(['repair'])
  }

  /** Runs `merod restore` of a backup folder into this node (the daemon must be stopped). */
  async restore(from: string, force: boolean): Promise<RestoreResult> {
    if (await this.probe()) throw new MeroError('AlreadyRunning', `node '${this.home.node}' is running; stop it first (\`meroctl node stop${this.nodeFlag}\`)`)
    return this.merod(['restore', from, ...(force ? ['--force'] : [])])
  }

  /** Starts a detached daemon and waits until it answers. Returns its status. */
  async start(): Promise<NodeStatus> {
    if (!this.initialized) {
      const others = nodeNames(this.home.home)
      const hint = didYouMean(this.home.node, others)
      throw new MeroError('NodeNotInitialized', `node '${this.home.node}' is not initialised in ${this.home.home}.${hint} Create it with \`meroctl node init${this.nodeFlag}\`${others.length ? `; \`meroctl node list\` lists the nodes there` : ''}`, hint ? { suggestions: suggest(this.home.node, others) } : undefined)
    }
    const running = await this.probe()
    if (running) return running
    const holder = pidFileHolder(this.home.pidFile)
    if (holder !== undefined) {
      // our merod is starting up, or hung: give it the ready window
      const status = await this.waitUntilReady(() => sameProcess(processIdentity(holder.pid), holder))
      if (status) return status
      if (sameProcess(processIdentity(holder.pid), holder)) {
        throw new MeroError('DaemonStartFailed', `merod (pid ${holder.pid}) holds node '${this.home.node}' but does not answer on ${this.home.socket}; see ${this.home.log}, or stop it with \`meroctl node stop${this.nodeFlag}\``)
      }
    }
    this.cleanStale()

    const logFd = openSync(this.home.log, 'a', 0o600)
    const logOffset = statSync(this.home.log).size
    let exited: { code: number | null } | undefined
    try {
      const child = spawn(process.execPath, [...MEROD_NODE_FLAGS, MERO_BIN, '--home', this.home.home, '--node', this.home.node, 'run'], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: { ...merodEnv(process.env), MERO_HOME: this.home.home, MERO_NODE: this.home.node },
      })
      child.once('exit', (code) => (exited = { code }))
      child.unref()
    } finally {
      closeSync(logFd)
    }
    const status = await this.waitUntilReady(() => exited === undefined)
    if (status) return status
    const tail = this.logTail(logOffset)
    const why = exited ? `merod exited with code ${exited.code}` : `merod did not answer within ${READY_TIMEOUT_MS / 1000} s`
    throw new MeroError('DaemonStartFailed', `${why}; see ${this.home.log}${tail ? `:\n${tail}` : ''}`)
  }

  private async waitUntilReady(stillTrying: () => boolean): Promise<NodeStatus | undefined> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    let delay = 10
    while (Date.now() < deadline && stillTrying()) {
      const status = await this.probe().catch(() => undefined)
      if (status) return status
      await sleep(delay)
      delay = Math.min(delay * 1.5, 100)
    }
    return this.probe().catch(() => undefined)
  }

  /**
   * Stops the daemon: node.stop over the socket, then SIGTERM and SIGKILL if it does not go.
   * Signals reach only a process proved to be this node's merod. False when none was running.
   */
  async stop(): Promise<boolean> {
    const status = await this.probe().catch(() => undefined)
    const holder = pidFileHolder(this.home.pidFile)
    // The socket is ours (mode 0600 in a 0700 folder): the pid it reports is our merod's.
    const target: ProcessIdentity | undefined = status ? processIdentity(status.pid) : holder
    if (!status && !target) {
      this.cleanStale()
      return false
    }
    if (status) {
      const client = this.client(3_000)
      await client.call('node.stop').catch(() => undefined)
      client.close()
    } else if (target) {
      signalIfSame(target, 'SIGTERM')
    }
    const gone = () => (target ? !sameProcess(processIdentity(target.pid), target) : !existsSync(this.home.socket))
    if (!(await waitUntil(gone, STOP_TIMEOUT_MS)) && target) {
      signalIfSame(target, 'SIGKILL')
      await waitUntil(gone, 2_000)
    }
    this.cleanStale()
    return true
  }

  /**
   * Removes the pid file and socket when no live merod of this node holds them (a crash, a
   * SIGKILL, a pid since reused by another process, a zombie).
   */
  cleanStale(): void {
    if (pidFileHolder(this.home.pidFile) !== undefined) return
    const record = readPidFile(this.home.pidFile)
    // An old pid-only file proves nothing by itself: keep it while a daemon answers there.
    if (record && record.start === undefined && existsSync(this.home.socket) && processIdentity(record.pid)) return
    for (const f of [this.home.pidFile, this.home.socket]) {
      try {
        unlinkSync(f)
      } catch {
        // not there
      }
    }
  }

  /** ` --node NAME` when this is not the node a bare command uses: for hints the user copies. */
  get nodeFlag(): string {
    return this.home.node === defaultNodeName(this.home.home) ? '' : ` --node ${this.home.node}`
  }

  /** The log's last lines after `fromOffset` (a byte offset: the log holds UTF-8 beyond ASCII). */
  logTail(fromOffset = 0, lines = 15): string {
    try {
      const text = readFileSync(this.home.log).subarray(fromOffset).toString('utf8')
      return text.trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }
}

const kindOfName = (name: string): boolean => Object.hasOwn(ERROR_KINDS, name)

/** merod's error under --json: `{"error": {"kind", "message"}}` on stderr. */
function parseError(stderr: string): { kind: ErrorKind; message: string } | undefined {
  try {
    const { error } = JSON.parse(stderr) as { error?: { kind?: string; message?: string } }
    if (error?.kind && error.message && kindOfName(error.kind)) return { kind: error.kind as ErrorKind, message: error.message }
  } catch {
    // not JSON: a usage error or a crash
  }
  return undefined
}

export interface NodeListing {
  node: string
  dir: string
  identity?: string
  running: boolean
  /** The node commands use when none is named. */
  default: boolean
  pid?: number
  listen?: string[]
}

/** Every node folder of a home, and whether its daemon runs. */
export async function listNodes(home?: string): Promise<NodeListing[]> {
  const root = resolveNodeHome(home).home
  if (!existsSync(root)) return []
  const out: NodeListing[] = []
  for (const name of readdirSync(root).sort()) {
    let manager: DaemonManager
    try {
      manager = new DaemonManager(root, name)
    } catch {
      continue
    }
    if (!existsSync(manager.home.config)) continue
    let identity: string | undefined
    try {
      identity = (JSON.parse(readFileSync(manager.home.identityKey, 'utf8')) as { publicKey?: string }).publicKey
    } catch {
      identity = undefined
    }
    const status = await manager.probe().catch(() => undefined)
    out.push({ node: name, dir: manager.home.dir, identity, running: status !== undefined, default: name === defaultNodeName(root), pid: status?.pid, listen: readListen(manager.home.config) })
  }
  return out
}

function readListen(configPath: string): string[] | undefined {
  try {
    const m = /^listen\s*=\s*(\[.*\])/m.exec(readFileSync(configPath, 'utf8'))
    return m ? (JSON.parse(m[1]!) as string[]) : undefined
  } catch {
    return undefined
  }
}

function runProcess(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (done()) return true
    await sleep(25)
  }
  return done()
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

