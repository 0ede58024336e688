import { execFileSync, spawn } from 'node:child_process'
import { outcome, type RunResult } from './harness.js'

/**
 * A private network of Linux network namespaces for tests that need a real network between
 * daemons (partitions, later relays and larger splits), DESIGN §11: every address, link and
 * packet lives inside namespaces this lab creates, and all of them go when it is destroyed.
 *
 * Layout: a switch namespace holding bridges (segments: "main" at first), and one namespace per
 * node with an interface `eth0` (198.18.0.<n>/16, RFC 2544's range for network tests) whose peer
 * end is a port of a bridge. `partition([a, b], [c])` moves the ports onto one bridge per side:
 * packets between sides are dropped, both ways, as a cut cable would; `heal()` puts them back.
 * Processes started with `spawn`/`run` live in the node's namespace (a Unix socket is a file:
 * the test reaches a daemon's socket from outside).
 *
 * Needs root and iproute2 (CI runs as root). Namespace names carry the creating process's pid:
 * a lab reaps those of dead processes (a run killed before its cleanup).
 */
const PREFIX = 'mero'

export class NetLab {
  readonly id: string
  private readonly switchNs: string
  private readonly nodes = new Map<string, { ns: string; ip: string; port: string }>()
  private readonly segments = new Set<string>()
  private destroyed = false
  private static counter = 0
  private readonly onExit = () => this.destroy()

  constructor() {
    NetLab.check()
    NetLab.reapStale()
    this.id = `${PREFIX}${process.pid.toString(36)}x${(NetLab.counter++).toString(36)}`
    this.switchNs = `${this.id}-sw`
    ip('netns', 'add', this.switchNs)
    process.once('exit', this.onExit)
    this.segment('main')
  }

  /** Throws, saying why, when this machine cannot make namespaces (not root, no iproute2). */
  static check(): void {
    if (process.platform !== 'linux') throw new Error('network namespaces need Linux')
    if (process.getuid?.() !== 0) throw new Error('network namespaces need root (CI runs as root)')
    try {
      execFileSync('ip', ['-V'], { stdio: 'ignore' })
    } catch {
      throw new Error('network namespaces need iproute2 (`ip`)')
    }
  }

  /** Removes the namespaces of labs whose process is gone. */
  static reapStale(): void {
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(PREFIX))
    for (const name of names) {
      const m = new RegExp(`^${PREFIX}([0-9a-z]+)x`).exec(name)
      if (!m) continue
      const pid = parseInt(m[1]!, 36)
      if (pid === process.pid || alive(pid)) continue
      try {
        ip('netns', 'del', name)
      } catch {
        // deleted meanwhile
      }
    }
  }

  /** Adds a node: its namespace, loopback up, and eth0 on the main segment. Returns its address. */
  addNode(name: string): string {
    const n = this.nodes.size + 1
    if (n > 250) throw new Error('a lab holds at most 250 nodes')
    const ns = `${this.id}-${n}`
    const port = `p${n}`
    const address = `198.18.0.${n}`
    ip('netns', 'add', ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    ip('-n', this.switchNs, 'link', 'set', port, 'master', 'br-main', 'up')
    ip('-n', ns, 'addr', 'add', `${address}/16`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'up')
    // multicast (mDNS) goes out on the lab's link: without a route for it a send fails with
    // ENETUNREACH, as the namespace has no default route
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
    this.nodes.set(name, { ns, ip: address, port })
    return address
  }

  address(node: string): string {
    return this.node(node).ip
  }

  /** Splits the nodes into sides that cannot reach each other; nodes not named stay on "main". */
  partition(...sides: string[][]): void {
    sides.forEach((side, i) => {
      const segment = `side${i}`
      this.segment(segment)
      for (const n of side) ip('-n', this.switchNs, 'link', 'set', this.node(n).port, 'master', `br-${segment}`)
    })
  }

  /** Every node back on one segment. */
  heal(): void {
    for (const { port } of this.nodes.values()) ip('-n', this.switchNs, 'link', 'set', port, 'master', 'br-main')
  }

  /** Starts a process inside a node's namespace. */
  spawn(node: string, command: string, args: string[], env?: NodeJS.ProcessEnv) {
    return spawn('ip', ['netns', 'exec', this.node(node).ns, command, ...args], { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  }

  /** Runs a process inside a node's namespace to its end (bounded by `timeoutMs`). */
  run(node: string, command: string, args: string[], timeoutMs = 30_000, env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return outcome(this.spawn(node, command, args, env), `${command} ${args.join(' ')} in ${node}'s namespace`, timeoutMs)
  }

  /** Deletes every namespace of the lab (their links go with them). Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    process.off('exit', this.onExit)
    for (const { ns } of this.nodes.values()) tryIp('netns', 'del', ns)
    tryIp('netns', 'del', this.switchNs)
  }

  private node(name: string) {
    const n = this.nodes.get(name)
    if (!n) throw new Error(`no node '${name}' in the lab`)
    return n
  }

  private segment(name: string): void {
    if (this.segments.has(name)) return
    ip('-n', this.switchNs, 'link', 'add', `br-${name}`, 'type', 'bridge')
    ip('-n', this.switchNs, 'link', 'set', `br-${name}`, 'up')
    this.segments.add(name)
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function tryIp(...args: string[]): void {
  try {
    ip(...args)
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
