import { parseArgs } from 'node:util'
import { isMeroError } from '../core/primitives/errors.js'
import { resolveNodeHome } from '../home/paths.js'
import { initNode } from './init.js'
import { restoreNode } from './backup.js'
import { repairNode } from './repair.js'
import { packageVersion } from './version.js'

const USAGE = `merod: the mero node daemon

Usage:
  merod [--home DIR] [--node NAME] init [--listen MULTIADDR]... [--bootstrap MULTIADDR]... [--encryption-key-file FILE] [--force] [--dry-run] [--json]
  merod [--home DIR] [--node NAME] run
  merod [--home DIR] [--node NAME] config get [KEY] [--json]
  merod [--home DIR] [--node NAME] config set KEY VALUE [--json]
  merod [--home DIR] [--node NAME] repair [--json]
  merod [--home DIR] [--node NAME] restore BACKUP_DIR [--force] [--json]
  merod --version

  --home DIR     the mero home (env MERO_HOME, default ~/.mero)
  --node NAME    the node inside the home (env MERO_NODE, default "default")
  --dry-run      init: check the arguments and the node, change nothing; prints {node, dir, exists}
  --encryption-key-file FILE
                 init: encrypt the node's store at rest under the key in FILE (made, mode 0600,
                 when absent) and set store.encryption_key_file; $MERO_STORE_KEY_FILE names the
                 key file at run time instead. Without the key the node does not start and its
                 data and backups cannot be read: keep a copy of FILE apart from them

Most people use meroctl, which starts and stops merod: \`meroctl node start\`.
`

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        home: { type: 'string' },
        node: { type: 'string' },
        listen: { type: 'string', multiple: true },
        bootstrap: { type: 'string', multiple: true },
        force: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'encryption-key-file': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    })
  } catch (e) {
    return usage((e as Error).message)
  }
  const { values, positionals } = parsed
  if (values.version) {
    process.stdout.write(`merod ${packageVersion()}\n`)
    return 0
  }
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE)
    return values.help ? 0 : 2
  }
  const [command, ...rest] = positionals
  if (command === 'config') return config(rest, values.home, values.node, Boolean(values.json))
  const operands = command === 'restore' ? 1 : 0
  if (rest.length !== operands) return usage(rest.length > operands ? `unexpected argument '${rest[operands]}'` : `${command} needs a folder`)

  try {
    if (command === 'init' && values['dry-run']) {
      const r = await initNode({ home: values.home, node: values.node, listen: values.listen, bootstrap: values.bootstrap, force: values.force, encryptionKeyFile: values['encryption-key-file'], dryRun: true })
      process.stdout.write(`${JSON.stringify({ node: r.home.node, dir: r.home.dir, exists: r.exists })}\n`)
      return 0
    }
    if (command === 'init') {
      const r = await initNode({ home: values.home, node: values.node, listen: values.listen, bootstrap: values.bootstrap, force: values.force, encryptionKeyFile: values['encryption-key-file'] })
      const out = { node: r.home.node, dir: r.home.dir, identity: r.identity, peerId: r.peerId, listen: r.listen, ...(r.encryption ? { encryption: r.encryption } : {}) }
      const encryption = r.encryption ? `encrypted at rest under ${r.encryption.keyFile} (key id ${r.encryption.keyId}${r.encryption.created ? ', made now' : ''})\n` : ''
      process.stdout.write(values.json ? JSON.stringify(out) + '\n' : `initialised node '${out.node}' in ${out.dir}\nidentity  ${out.identity}\npeer id   ${out.peerId}\nlisten    ${out.listen.join(', ')}\n${encryption}`)
      return 0
    }
    if (command === 'repair') {
      if (values.listen || values.bootstrap || values.force || values['encryption-key-file']) throw new UsageError('--listen, --bootstrap, --encryption-key-file and --force belong to `merod init`')
      const report = await repairNode(resolveNodeHome(values.home, values.node))
      process.stdout.write(JSON.stringify(report, null, values.json ? undefined : 2) + '\n')
      return 0
    }
    if (command === 'restore') {
      if (values.listen || values.bootstrap || values['encryption-key-file']) throw new UsageError('--listen, --bootstrap and --encryption-key-file belong to `merod init`')
      const r = await restoreNode(rest[0]!, values.home, values.node, values.force ?? false)
      process.stdout.write(JSON.stringify(r, null, values.json ? undefined : 2) + '\n')
      return 0
    }
    if (command === 'run') {
      if (values.listen || values.bootstrap || values.force || values['encryption-key-file']) throw new UsageError('--listen, --bootstrap, --encryption-key-file and --force belong to `merod init`')
      return await run(values.home, values.node)
    }
    return usage(`unknown command '${command}'`)
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message)
    if (values.json && isMeroError(e)) process.stderr.write(JSON.stringify({ error: { kind: e.kind, message: e.message } }) + '\n')
    else process.stderr.write(`merod: ${isMeroError(e) ? e.message : (e as Error).stack ?? String(e)}\n`)
    return isMeroError(e, 'InvalidInput') ? 2 : 1
  }
}

/** `merod config get [KEY]` / `merod config set KEY VALUE`: one key of the node's config.toml. */
async function config(args: string[], home: string | undefined, node: string | undefined, json: boolean): Promise<number> {
  const { getConfig, setConfig } = await import('./config-edit.js')
  const [verb, key, value, ...extra] = args
  const path = resolveNodeHome(home, node).config
  try {
    if (verb === 'get' && value === undefined) {
      const r = getConfig(path, key)
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : Object.entries(r).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n') + '\n')
      return 0
    }
    if (verb === 'set' && key !== undefined && value !== undefined && extra.length === 0) {
      const r = setConfig(path, key, value)
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${r.key} = ${JSON.stringify(r.value)}${r.changed ? '' : ' (unchanged)'}\n`)
      return 0
    }
  } catch (e) {
    if (json && isMeroError(e)) process.stderr.write(JSON.stringify({ error: { kind: e.kind, message: e.message } }) + '\n')
    else process.stderr.write(`merod: ${(e as Error).message}\n`)
    return isMeroError(e, 'InvalidInput') ? 2 : 1
  }
  return usage('config takes `get [KEY]` or `set KEY VALUE`')
}

function usage(message: string): number {
  process.stderr.write(`merod: ${message}\n\n${USAGE}`)
  return 2
}

async function run(home?: string, node?: string): Promise<number> {
  // the node core (libp2p, RocksDB) loads only to run: init and config stay quick
  const { Daemon, STOP_DEADLINE_MS } = await import('./daemon.js')
  const daemon = new Daemon(resolveNodeHome(home, node))
  await daemon.start()
  return new Promise<number>((resolve) => {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130) // a second ^C: leave now
      const deadline = setTimeout(() => {
        daemon.log.error('graceful stop exceeded its deadline; exiting')
        process.exit(1)
      }, STOP_DEADLINE_MS)
      deadline.unref()
      void daemon.stop(signal).then(() => resolve(0))
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
    process.on('uncaughtException', (err) => {
      daemon.log.fatal({ err }, 'uncaught exception')
      void daemon.stop('uncaughtException').then(() => resolve(1))
    })
    process.on('unhandledRejection', (err) => {
      daemon.log.error({ err }, 'unhandled rejection')
    })
    void daemon.stopped.then(() => resolve(0))
  })
}
