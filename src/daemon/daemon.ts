import { statSync } from 'node:fs'
import { readKeyFile } from '../core/crypto/keyfile.js'
import { VerifierPool } from '../core/crypto/verifier-pool.js'
import { Libp2pNetwork, type NetworkOptions } from '../core/network/libp2p-network.js'
import { PeerBook } from '../core/network/peer-book.js'
import { EventBus } from '../core/node/event-bus.js'
import { MeroNode } from '../core/node/node.js'
import { MeroError } from '../core/primitives/errors.js'
import { parseGroupId } from '../core/primitives/ids.js'
import { Store } from '../core/store/store.js'
import { applySchema } from '../core/store/schema.js'
import { MIGRATIONS, SCHEMA_VERSION } from '../core/node/migrations.js'
import { loadConfig, type Config } from './config.js'
import { checkSocketPathLength, type NodeHome } from '../home/paths.js'
import { createLogger, type Logger } from './logging.js'
import { DaemonMetrics } from './metrics.js'
import { ProcessInstrumenter } from './instrument-process.js'
import { blobRoutes } from './blob-routes.js'
import type { BackupManifest } from '../api/node-files.js'
import { backupNode } from './backup.js'
import { allMethods } from './methods/index.js'
import type { MethodContext } from './methods/types.js'
import { PidLock } from '../home/pid-file.js'
import { RpcServer } from './server.js'
import { packageVersion } from './version.js'
import { OperatorLog } from './operator-log.js'
import { encryptNodeIfNeeded } from './encrypt-node.js'
import { storeKeyOptions } from './store-key.js'

/** How long a graceful stop may take before the process exits anyway. */
export const STOP_DEADLINE_MS = 4_500

/**
 * merod: owns the pid lock, the store, the node core and the socket API; starts them in
 * dependency order and stops them in reverse.
 */
export class Daemon {
  readonly config: Config
  readonly log: Logger
  private readonly flushLog: () => void
  private readonly lock: PidLock
  private store?: Store
  private node?: MeroNode
  private pool?: VerifierPool
  private instrumenter?: ProcessInstrumenter
  private server?: RpcServer
  private heartbeat?: NodeJS.Timeout
  private operatorLog?: OperatorLog
  private stopping?: Promise<void>
  private readonly events = new EventBus()
  readonly startedAt = Date.now()
  private resolveStopped!: () => void
  /** Resolves once the daemon has stopped, whoever asked (signal or `node.stop`). */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve))

  constructor(readonly home: NodeHome) {
    checkSocketPathLength(home)
    checkFolderPermissions(home.dir)
    this.config = loadConfig(home.config)
    const { logger, flush } = createLogger(home.log, this.config.log.level)
    this.log = logger
    this.flushLog = flush
    this.lock = new PidLock(home.pidFile)
  }

  async start(): Promise<void> {
    this.lock.acquire()
    try {
      const identity = readKeyFile(this.home.identityKey)
      const keyOptions = storeKeyOptions(this.config, this.home.config)
      const encrypted = await encryptNodeIfNeeded(this.home, keyOptions)
      if (encrypted.encrypted) this.log.info({ rows: encrypted.rows, chunks: encrypted.chunks }, 'the node is now encrypted at rest: its store and blob files were copied sealed under the store key, the unencrypted ones deleted')
      this.store = await Store.open(this.home.data, { memoryMb: this.config.store.memory_mb, ...keyOptions })
      if (this.store.encryption) this.log.info({ keyId: this.store.encryption.keyId }, 'store encrypted at rest')
      const schema = applySchema(this.store, SCHEMA_VERSION, MIGRATIONS, packageVersion())
      for (const line of schema.migrated) this.log.info({ schema: line }, 'store migrated')
      this.pool = new VerifierPool(2)
      this.instrumenter = new ProcessInstrumenter()
      const network = new Libp2pNetwork({ seed: identity.privateKey, peerBook: new PeerBook(this.store), ...networkOptions(this.config) })
      this.node = new MeroNode({
        store: this.store,
        identity,
        blobsDir: this.home.blobs,
        events: this.events,
        advertisedAddresses: this.config.network.listen,
        network,
        verifierPool: this.pool,
        instrument: this.instrumenter.instrument,
        runtimeLimits: { maxMemoryPages: this.config.runtime.max_memory_pages, instructionBudget: this.config.runtime.instruction_budget, maxModuleBytes: this.config.runtime.max_module_bytes },
        executionWorkers: this.config.runtime.execution_workers,
        callDeadlineMs: this.config.runtime.call_deadline_ms,
        inlineSlice: { instructions: this.config.runtime.inline_slice_instructions, ms: this.config.runtime.inline_slice_ms },
        groupHeartbeatMs: this.config.sync.group_heartbeat_secs * 1000,
        syncTimeoutMs: this.config.sync.timeout_secs * 1000,
        maxConcurrentSyncs: this.config.sync.max_concurrent,
        contextHeartbeatMs: this.config.sync.context_heartbeat_secs * 1000,
        snapshotThreshold: this.config.sync.snapshot_threshold,
        coalesceCalls: this.config.context.coalesce_calls,
        gc: { intervalMs: this.config.gc.interval_secs * 1000, tombstoneRetentionMs: this.config.gc.tombstone_retention_secs * 1000 },
      })
      network.on('peer:banned', (e) => this.log.warn({ peerId: e.peerId, reason: e.reason, strikes: e.strikes, until: new Date(e.untilMs).toISOString() }, 'peer banned: disconnected and refused for a while'))
      const node = this.node
      // the group's replicated alias, else this node's own alias for it
      const groupAlias = (g: string) => {
        const id = parseGroupId(g)
        return node.groups.has(id) ? ((node.groups.state(id).current('alias') as string | undefined) ?? node.aliases.aliasesOf('group', g)[0]) : undefined
      }
      this.operatorLog = new OperatorLog(this.log, { names: { group: groupAlias } }).attach(this.events)
      await this.node.start()
      for (const u of this.node.resumedUpgrades) {
        if (u.error) this.log.error({ contextId: u.contextId, applicationId: u.applicationId }, `an interrupted upgrade failed again: ${u.error}`)
        else this.log.info({ contextId: u.contextId, applicationId: u.applicationId }, 'an interrupted upgrade (its migration) ran again and committed')
      }
      for (const m of this.node.missingApplications) {
        this.log.warn({ applicationId: m.applicationId, chunks: m.chunks, blobs: this.home.blobs }, 'application bytes are missing from the blobs folder; fetching them again from peers')
      }
      this.events.on((e) => {
        if (e.type === 'application.fetched' && e.restored) this.log.info({ applicationId: e.applicationId, peerId: e.peerId, via: e.via }, 'application bytes fetched again from a peer')
      })
      const metrics = new DaemonMetrics()
      metrics.watchReplication(this.node)
      metrics.watchContexts(this.node)
      metrics.watchContextReplication(this.node)
      metrics.watchBlobs(this.node)
      metrics.watchDiscovery(this.node)
      metrics.watchGc(this.node)
      metrics.watchMemory(this.node)
      metrics.watchInstrumentation(this.instrumenter)
      this.server = new RpcServer({
        socketPath: this.home.socket,
        methods: allMethods(),
        context: this.methodContext(this.node),
        events: this.events,
        metrics,
        maxBodyBytes: this.config.rpc.max_body_bytes,
        routes: blobRoutes(this.node),
      })
      await this.server.listen()
      this.heartbeat = setInterval(() => {
        this.events.emit({ type: 'heartbeat', uptimeMs: Date.now() - this.startedAt, peers: this.node?.status().peers ?? 0 })
      }, this.config.events.heartbeat_secs * 1000)
      this.heartbeat.unref()
      this.log.info({ socket: this.home.socket, identity: this.node.identityBase58, peerId: this.node.peerId, version: packageVersion() }, 'merod ready')
    } catch (e) {
      await this.shutdown()
      throw e
    }
  }

  private methodContext(node: MeroNode): MethodContext {
    return {
      node,
      log: this.log,
      daemon: {
        version: packageVersion(),
        socket: this.home.socket,
        home: this.home.home,
        nodeName: this.home.node,
        startedAt: this.startedAt,
        requestStop: () => setImmediate(() => void this.stop('rpc')),
        backup: (dir) => this.backup(node, dir),
      },
    }
  }

  private backingUp = false

  private async backup(node: MeroNode, dir: string): Promise<BackupManifest> {
    if (this.backingUp) throw new MeroError('Conflict', 'a backup of this node is already running')
    this.backingUp = true
    try {
      const manifest = await backupNode(node, this.home, dir)
      this.log.info({ dir, rows: manifest.rows, blobs: manifest.blobs.count, durationMs: manifest.durationMs }, 'backup written')
      return manifest
    } finally {
      this.backingUp = false
    }
  }

  /** Idempotent; resolves when everything is closed. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ reason }, 'merod stopping')
      this.events.emit({ type: 'node.stopping' })
      await this.shutdown()
      this.operatorLog?.detach()
      this.log.info('merod stopped')
      this.flushLog()
      this.resolveStopped()
    })()
    return this.stopping
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat)
    await settle(this.server?.close())
    await settle(this.node?.stop())
    await settle(this.pool?.close())
    await settle(this.instrumenter?.close())
    await settle(this.store?.close())
    this.lock.release()
  }
}

/** The p2p network's options from config.toml's [network] tables. */
export function networkOptions(config: Config): Omit<NetworkOptions, 'seed'> {
  const n = config.network
  const r = n.relay
  return {
    listen: n.listen,
    announce: n.announce,
    bootstrap: n.bootstrap,
    mdns: n.mdns,
    relay: {
      serve: r.serve ? { maxReservations: r.max_reservations, reservationTtlMs: r.reservation_ttl_secs * 1000, durationLimitMs: r.circuit_duration_secs * 1000, dataLimitBytes: r.circuit_data_bytes } : false,
      relays: r.relays,
      auto: r.auto_reserve,
      maxRelays: r.max_relays,
    },
    limits: { inboundStreamsPerPeer: n.limits.inbound_streams_per_peer, connectionsPerPeer: n.limits.connections_per_peer, strikesBeforeBan: n.limits.strikes_before_ban, banMs: n.limits.ban_secs * 1000 },
  }
}

async function settle(p: Promise<unknown> | undefined): Promise<void> {
  try {
    await p
  } catch {
    // stopping: keep closing the remaining parts
  }
}

/** The node folder holds the identity key and the admin socket: nobody else may write to it. */
export function checkFolderPermissions(dir: string): void {
  let mode: number
  try {
    mode = statSync(dir).mode & 0o777
  } catch {
    throw new MeroError('NodeNotInitialized', `no node folder at ${dir}: run \`meroctl node init\` (or \`merod init\`) first`)
  }
  if (mode & 0o022) {
    throw new MeroError('InsecurePermissions', `refusing to run: the node folder ${dir} is writable by group or others (mode ${mode.toString(8)}); run: chmod 700 ${dir}`)
  }
}
