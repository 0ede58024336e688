import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { MeroError } from '../core/primitives/errors.js'

/**
 * The layout of a node's folder inside a mero home (DESIGN §4). This module is deliberately
 * light (paths only): meroctl's DaemonManager uses it to find and spawn the daemon.
 */
export interface NodeHome {
  home: string
  node: string
  dir: string
  config: string
  identityKey: string
  data: string
  blobs: string
  socket: string
  pidFile: string
  log: string
}

export const DEFAULT_NODE = 'default'
/** sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107
const NODE_NAME = /^[A-Za-z0-9._-]{1,64}$/

export function defaultHome(): string {
  return process.env.MERO_HOME || join(homedir(), '.mero')
}

/** The file of a home naming its default node (`meroctl node use`). */
export function defaultNodeFile(home: string): string {
  return join(home, 'default-node')
}

/** The node a command uses when none is named: $MERO_NODE, else the home's default (`meroctl node use`), else `default`. */
export function defaultNodeName(home: string): string {
  if (process.env.MERO_NODE) return process.env.MERO_NODE
  try {
    return readFileSync(defaultNodeFile(home), 'utf8').trim() || DEFAULT_NODE
  } catch {
    return DEFAULT_NODE
  }
}

export function resolveNodeHome(home?: string, node?: string): NodeHome {
  const h = resolve(home || defaultHome())
  const n = node || defaultNodeName(h)
  if (!NODE_NAME.test(n) || n === '.' || n === '..') {
    throw new MeroError('InvalidInput', `node name '${n}' is invalid: use 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'`)
  }
  const dir = join(h, n)
  return {
    home: h,
    node: n,
    dir,
    config: join(dir, 'config.toml'),
    identityKey: join(dir, 'identity.key'),
    data: join(dir, 'data'),
    blobs: join(dir, 'blobs'),
    socket: join(dir, 'merod.sock'),
    pidFile: join(dir, 'merod.pid'),
    log: join(dir, 'merod.log'),
  }
}

export function checkSocketPathLength(nodeHome: NodeHome): void {
  const length = Buffer.byteLength(nodeHome.socket)
  if (length > MAX_SOCKET_PATH) {
    throw new MeroError(
      'InvalidInput',
      `the socket path ${nodeHome.socket} is ${length} bytes, longer than the ${MAX_SOCKET_PATH} the kernel allows; use a shorter --home (e.g. --home /tmp/mero)`,
    )
  }
}
