// A private network of Linux network namespaces for the benches (the shape of
// test/helpers/netns.ts): a switch namespace with bridges, one namespace per node on it, and
// partitions by moving the nodes' ports onto one bridge per side. Needs root and iproute2.
import { execFileSync } from 'node:child_process'

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
const tryIp = (...args) => {
  try {
    ip(...args)
  } catch {}
}

export class BenchLab {
  constructor() {
    if (process.getuid?.() !== 0) throw new Error('the bench needs root for its network namespaces')
    this.id = `merob${process.pid.toString(36)}`
    this.sw = `${this.id}-sw`
    this.nodes = new Map()
    this.bridges = new Set()
    ip('netns', 'add', this.sw)
    process.once('exit', () => this.destroy())
    this.bridge('main')
  }

  bridge(name) {
    if (this.bridges.has(name)) return
    ip('-n', this.sw, 'link', 'add', `br-${name}`, 'type', 'bridge')
    ip('-n', this.sw, 'link', 'set', `br-${name}`, 'up')
    this.bridges.add(name)
  }

  /** A node's namespace on the main bridge; returns its address. */
  add(name) {
    const n = this.nodes.size + 1
    const ns = `${this.id}-${n}`
    const address = `198.18.0.${n}`
    ip('netns', 'add', ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', this.sw, 'link', 'add', `p${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    ip('-n', this.sw, 'link', 'set', `p${n}`, 'master', 'br-main', 'up')
    ip('-n', ns, 'addr', 'add', `${address}/16`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'up')
    this.nodes.set(name, { ns, port: `p${n}`, address })
    return address
  }

  /** The command prefix that runs a process in a node's namespace. */
  wrap(name) {
    return ['ip', 'netns', 'exec', this.nodes.get(name).ns]
  }

  partition(...sides) {
    sides.forEach((side, i) => {
      this.bridge(`s${i}`)
      for (const n of side) ip('-n', this.sw, 'link', 'set', this.nodes.get(n).port, 'master', `br-s${i}`)
    })
  }

  heal() {
    for (const { port } of this.nodes.values()) ip('-n', this.sw, 'link', 'set', port, 'master', 'br-main')
  }

  destroy() {
    for (const { ns } of this.nodes.values()) tryIp('netns', 'del', ns)
    tryIp('netns', 'del', this.sw)
    this.nodes.clear()
  }
}
