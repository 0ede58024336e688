import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { generateKeyPair } from '../core/crypto/ed25519.js'
import { writeKeyFile } from '../core/crypto/keyfile.js'
import { MeroError } from '../core/primitives/errors.js'
import { peerIdFromPublicKey } from '../core/primitives/ids.js'
import { toBase58 } from '../core/primitives/encoding.js'
import { defaultConfig, loadConfig, writeConfig } from './config.js'
import { checkSocketPathLength, resolveNodeHome, type NodeHome } from '../home/paths.js'
import { pidFileHolder } from '../home/pid-file.js'

export interface InitOptions {
  home?: string
  node?: string
  listen?: string[]
  bootstrap?: string[]
  force?: boolean
  /** Validate only (arguments, the node's state): change nothing. */
  dryRun?: boolean
}

export interface InitResult {
  home: NodeHome
  identity: string
  peerId: string
  listen: string[]
}

export const DEFAULT_PORT = 2428

/**
 * Creates a node folder (0700) with identity.key (0600) and a documented config.toml.
 * Refuses, changing nothing, when the node exists and `force` is not set; with `force` the
 * node's identity, config and data are replaced (refused while its daemon runs).
 */
export async function initNode(opts: InitOptions & { dryRun: true }): Promise<{ home: NodeHome; exists: boolean }>
export async function initNode(opts: InitOptions): Promise<InitResult>
export async function initNode(opts: InitOptions): Promise<InitResult | { home: NodeHome; exists: boolean }> {
  const home = resolveNodeHome(opts.home, opts.node)
  checkSocketPathLength(home)
  for (const a of [...(opts.listen ?? []), ...(opts.bootstrap ?? [])]) validateMultiaddrText(a)

  const exists = existsSync(home.config) || existsSync(home.identityKey)
  if (exists) {
    if (!opts.force) {
      throw new MeroError('NodeAlreadyInitialized', `node '${home.node}' already exists at ${home.dir}; pass --force to replace its identity, config and data`)
    }
    const holder = pidFileHolder(home.pidFile)
    if (holder !== undefined) {
      throw new MeroError('AlreadyRunning', `node '${home.node}' is running (pid ${holder.pid}); stop it first (\`meroctl node stop\`)`)
    }
  }
  if (opts.dryRun) return { home, exists }
  if (exists) {
    for (const entry of readdirSync(home.dir)) rmSync(join(home.dir, entry), { recursive: true, force: true })
  }

  mkdirSync(home.home, { recursive: true, mode: 0o700 })
  mkdirSync(home.dir, { recursive: true, mode: 0o700 })
  chmodSync(home.dir, 0o700)
  mkdirSync(home.blobs, { recursive: true, mode: 0o700 })

  const config = defaultConfig()
  config.network.listen = opts.listen?.length ? opts.listen : [`/ip4/0.0.0.0/tcp/${await pickPort(home)}`]
  config.network.bootstrap = opts.bootstrap ?? []
  writeConfig(home.config, config)

  const pair = generateKeyPair()
  writeKeyFile(home.identityKey, pair)
  return { home, identity: toBase58(pair.publicKey), peerId: peerIdFromPublicKey(pair.publicKey), listen: config.network.listen }
}

function validateMultiaddrText(a: string): void {
  if (!/^(\/[^/\s]+)+$/.test(a) || !/^\/(ip4|ip6|dns|dns4|dns6)\//.test(a)) {
    throw new MeroError('InvalidInput', `'${a}' is not a multiaddr; expected e.g. /ip4/127.0.0.1/tcp/2428`)
  }
}

/** 2428, or the next port that is free now and not configured for another node of this home. */
async function pickPort(home: NodeHome): Promise<number> {
  const claimed = new Set<number>()
  if (existsSync(home.home)) {
    for (const other of readdirSync(home.home)) {
      if (other === home.node) continue
      try {
        const cfg = loadConfig(join(home.home, other, 'config.toml'))
        for (const a of cfg.network.listen) {
          const m = /\/tcp\/(\d+)/.exec(a)
          if (m) claimed.add(Number(m[1]))
        }
      } catch {
        // not a node folder
      }
    }
  }
  for (let port = DEFAULT_PORT; port < DEFAULT_PORT + 200; port++) {
    if (!claimed.has(port) && (await portIsFree(port))) return port
  }
  throw new MeroError('Unavailable', `no free TCP port in ${DEFAULT_PORT}-${DEFAULT_PORT + 199}; pass --listen`)
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)))
  })
}
