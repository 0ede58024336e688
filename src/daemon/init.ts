import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve, sep } from 'node:path'
import { generateKeyPair } from '../core/crypto/ed25519.js'
import { writeKeyFile } from '../core/crypto/keyfile.js'
import { MeroError } from '../core/primitives/errors.js'
import { peerIdFromPublicKey } from '../core/primitives/ids.js'
import { toBase58 } from '../core/primitives/encoding.js'
import { defaultConfig, loadConfig, writeConfig } from './config.js'
import { checkSocketPathLength, resolveNodeHome, type NodeHome } from '../home/paths.js'
import { pidFileHolder } from '../home/pid-file.js'
import { createStoreKeyFile, readStoreKeyFile } from './store-key.js'

export interface InitOptions {
  home?: string
  node?: string
  listen?: string[]
  bootstrap?: string[]
  force?: boolean
  /**
   * Encrypt the store at rest under the key in this file (made, mode 0600, when absent; an
   * existing one is checked and used); its absolute path goes into store.encryption_key_file.
   */
  encryptionKeyFile?: string
  /** Validate only (arguments, the node's state): change nothing. */
  dryRun?: boolean
}

export interface InitResult {
  home: NodeHome
  identity: string
  peerId: string
  listen: string[]
  encryption?: { keyFile: string; keyId: string; created: boolean }
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
  const keyFile = opts.encryptionKeyFile === undefined ? undefined : checkKeyFilePath(opts.encryptionKeyFile)

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
    for (const entry of readdirSync(home.dir)) {
      const path = join(home.dir, entry)
      if (keyFile !== undefined && (keyFile === path || keyFile.startsWith(path + sep))) continue // the key file given, kept for the new node
      rmSync(path, { recursive: true, force: true })
    }
  }

  mkdirSync(home.home, { recursive: true, mode: 0o700 })
  mkdirSync(home.dir, { recursive: true, mode: 0o700 })
  chmodSync(home.dir, 0o700)
  mkdirSync(home.blobs, { recursive: true, mode: 0o700 })

  const config = defaultConfig()
  config.network.listen = opts.listen?.length ? opts.listen : [`/ip4/0.0.0.0/tcp/${await pickPort(home)}`]
  config.network.bootstrap = opts.bootstrap ?? []
  const encryption = keyFile === undefined ? undefined : createStoreKeyFile(keyFile)
  if (encryption) config.store.encryption_key_file = encryption.path
  writeConfig(home.config, config)

  const pair = generateKeyPair()
  writeKeyFile(home.identityKey, pair)
  return {
    home,
    identity: toBase58(pair.publicKey),
    peerId: peerIdFromPublicKey(pair.publicKey),
    listen: config.network.listen,
    ...(encryption ? { encryption: { keyFile: encryption.path, keyId: encryption.keyId, created: encryption.created } } : {}),
  }
}

/** The key file's absolute path; an existing file must be a valid key, a new one needs its folder. */
function checkKeyFilePath(text: string): string {
  if (text === '') throw new MeroError('InvalidInput', '--encryption-key-file needs a path')
  const path = resolve(text)
  if (existsSync(path)) readStoreKeyFile({ path, setBy: '--encryption-key-file' })
  else if (!existsSync(dirname(path))) throw new MeroError('InvalidInput', `--encryption-key-file ${path}: its folder ${dirname(path)} does not exist`)
  return path
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
