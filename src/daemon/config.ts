import { readFileSync, writeFileSync } from 'node:fs'
import { parse as parseToml } from 'smol-toml'
import { z } from 'zod'
import { MeroError } from '../core/primitives/errors.js'
import { DEFAULT_STORE_MEMORY_MB, MAX_STORE_MEMORY_MB, MIN_STORE_MEMORY_MB } from '../core/store/memory-budget.js'

/**
 * config.toml: every key, its default and its meaning. `merod init` writes this file with
 * comments; unknown keys and wrong types are refused with the key's name.
 */
const positive = (d: number) => z.number().int().positive().default(d)
const nonNegative = (d: number) => z.number().int().nonnegative().default(d)

export const ConfigSchema = z
  .object({
    network: z
      .object({
        listen: z.array(z.string()).default(['/ip4/0.0.0.0/tcp/2428']),
        announce: z.array(z.string()).default([]),
        bootstrap: z.array(z.string()).default([]),
        mdns: z.boolean().default(false),
        relay: z
          .object({
            serve: z.boolean().default(false),
            max_reservations: positive(32),
            reservation_ttl_secs: positive(3600),
            circuit_duration_secs: nonNegative(0),
            circuit_data_bytes: nonNegative(0),
            relays: z.array(z.string()).default([]),
            auto_reserve: z.boolean().default(true),
            max_relays: positive(2),
          })
          .strict()
          .prefault({}),
        limits: z
          .object({
            inbound_streams_per_peer: positive(32),
            connections_per_peer: positive(4),
            strikes_before_ban: positive(20),
            ban_secs: positive(300),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    sync: z
      .object({
        group_heartbeat_secs: positive(10),
        context_heartbeat_secs: positive(10),
        timeout_secs: positive(30),
        max_concurrent: positive(8),
        snapshot_threshold: positive(1000),
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        memory_mb: z.number().int().min(MIN_STORE_MEMORY_MB).max(MAX_STORE_MEMORY_MB).default(DEFAULT_STORE_MEMORY_MB),
        encryption_key_file: z.string().default(''),
      })
      .strict()
      .prefault({}),
    runtime: z
      .object({
        max_memory_pages: positive(1024),
        instruction_budget: positive(300_000_000),
        max_module_bytes: positive(20 * 1024 * 1024),
        call_deadline_ms: positive(10_000),
        execution_workers: positive(8),
        inline_slice_instructions: z.number().int().nonnegative().default(1_000_000),
        inline_slice_ms: positive(20),
      })
      .strict()
      .prefault({}),
    context: z
      .object({
        coalesce_calls: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    gc: z
      .object({
        interval_secs: positive(12 * 3600),
        tombstone_retention_secs: positive(24 * 3600),
      })
      .strict()
      .prefault({}),
    rpc: z
      .object({
        max_body_bytes: positive(16 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        heartbeat_secs: positive(5),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict()

export type Config = z.infer<typeof ConfigSchema>

export function defaultConfig(): Config {
  return ConfigSchema.parse({})
}

export function parseConfig(text: string, path = 'config.toml'): Config {
  let raw: unknown
  try {
    raw = parseToml(text)
  } catch (e) {
    throw new MeroError('ConfigInvalid', `${path} is not valid TOML: ${(e as Error).message.split('\n')[0]}`)
  }
  const result = ConfigSchema.safeParse(raw)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const key = issue.path.join('.')
    const what = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${[...issue.path, k].join('.')}'`).join(', ')}` : `'${key}': ${issue.message}`
    throw new MeroError('ConfigInvalid', `${path}: ${what}`)
  }
  return result.data
}

export function loadConfig(path: string): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new MeroError('NodeNotInitialized', `no config at ${path}: run \`meroctl node init\` (or \`merod init\`) first`)
  }
  return parseConfig(text, path)
}

const q = (s: string) => JSON.stringify(s)
const list = (xs: string[]) => `[${xs.map(q).join(', ')}]`

/** The documented config file written by `merod init`. */
export function renderConfig(c: Config): string {
  return `# mero node configuration. Every key is shown with its meaning; the default is in [brackets].
# Edit and restart the node (\`meroctl node restart\`) to apply.

[network]
# libp2p listen multiaddrs [["/ip4/0.0.0.0/tcp/2428"]; init picks 2428 or the next free port]
listen = ${list(c.network.listen)}
# addresses others can dial this node at besides the listen ones, e.g. a public address forwarded
# to it; an announced public address makes the node's reachability public [[]]
announce = ${list(c.network.announce)}
# peers dialled at start, as multiaddrs ending in /p2p/<peer id> [[]]
bootstrap = ${list(c.network.bootstrap)}
# discover peers on the local network with mDNS (multicast on the local network's interfaces) [false]
mdns = ${c.network.mdns}

[network.relay]
# serve as a circuit relay (v2) for nodes that others cannot dial [false]
serve = ${c.network.relay.serve}
# serving: nodes that may hold a reservation here at once [32]
max_reservations = ${c.network.relay.max_reservations}
# serving: a reservation lasts this long before its holder renews it, seconds [3600]
reservation_ttl_secs = ${c.network.relay.reservation_ttl_secs}
# serving: how long one relayed connection may last, seconds; 0 = no limit [0]
circuit_duration_secs = ${c.network.relay.circuit_duration_secs}
# serving: how many bytes one relayed connection may carry each way; 0 = no limit [0]
circuit_data_bytes = ${c.network.relay.circuit_data_bytes}
# relays (multiaddrs ending in /p2p/<peer id>) this node reserves a slot on while it is not
# publicly reachable; it then advertises addresses through them (and invitations carry them) [[]]
relays = ${list(c.network.relay.relays)}
# while not publicly reachable, also reserve on relays met among connected peers [true]
auto_reserve = ${c.network.relay.auto_reserve}
# reservations held at once [2]
max_relays = ${c.network.relay.max_relays}

[network.limits]
# streams of mero protocols one peer may have in progress at once; more are refused [32]
inbound_streams_per_peer = ${c.network.limits.inbound_streams_per_peer}
# connections one peer may hold at once [4]
connections_per_peer = ${c.network.limits.connections_per_peer}
# invalid messages and refused streams (leaking away at this many a minute) that get a peer
# disconnected and refused for ban_secs [20]
strikes_before_ban = ${c.network.limits.strikes_before_ban}
ban_secs = ${c.network.limits.ban_secs}

[sync]
# how often each group's heads are announced on its topic, seconds [10]
group_heartbeat_secs = ${c.sync.group_heartbeat_secs}
# how often each context's root hash and heads are announced, seconds [10]
context_heartbeat_secs = ${c.sync.context_heartbeat_secs}
# a sync session is abandoned after this many seconds [30]
timeout_secs = ${c.sync.timeout_secs}
# sync sessions running at once [8]
max_concurrent = ${c.sync.max_concurrent}
# a fresh node joining a context takes a snapshot when a peer holds at least this many deltas [1000]
snapshot_threshold = ${c.sync.snapshot_threshold}

[store]
# RocksDB's memory budget, MiB: half for write buffers (memtables), half for the block cache, both
# shared out between the column families; the node's other memory comes on top (see docs/memory.md) [${DEFAULT_STORE_MEMORY_MB}]
memory_mb = ${c.store.memory_mb}
# encryption at rest (docs/encryption-at-rest.md): a file holding the store key (64 hex characters,
# mode 0600) encrypts the values of the state, delta, key, op and other sealed columns and the blob
# files; \$MERO_STORE_KEY_FILE overrides it. A relative path is taken from this node's folder. Set
# by \`meroctl node init --encryption-key-file FILE\`; set on an existing node, its store and blobs
# are encrypted at its next start. An encrypted node refuses to start without its key. Keep a copy
# of the key apart from the node's backups: without it the data cannot be read. [""]
encryption_key_file = ${q(c.store.encryption_key_file)}

[runtime]
# wasm memory limit in 64 KiB pages [1024 = 64 MiB]
max_memory_pages = ${c.runtime.max_memory_pages}
# instruction budget of one method call (metered at function entries and loop headers) [300000000]
instruction_budget = ${c.runtime.instruction_budget}
# largest application module accepted by \`app install\`, bytes [20971520]
max_module_bytes = ${c.runtime.max_module_bytes}
# wall-clock deadline of one method call, ms: past it the call fails (Timeout) and writes nothing [10000]
call_deadline_ms = ${c.runtime.call_deadline_ms}
# methods run on worker threads, off the daemon's event loop: at most this many at once [8]
execution_workers = ${c.runtime.execution_workers}
# a call first runs on the event loop for at most this many metering points (a kv-store \`set\`
# takes ~41,000), 1,000 host calls and this many ms; past any of them it is taken back and runs on
# a worker. 0: every call runs on a worker (about 0.1 ms more per call) [1000000, 20]
inline_slice_instructions = ${c.runtime.inline_slice_instructions}
inline_slice_ms = ${c.runtime.inline_slice_ms}

[context]
# the calls that reach a context together (while its calls run, or in one turn of the daemon's
# event loop) commit as one delta: one merge, signature, write and publish for all of them; false:
# one delta per call [true]
coalesce_calls = ${c.context.coalesce_calls}

[gc]
# garbage collection period, seconds [43200]
interval_secs = ${c.gc.interval_secs}
# CRDT tombstones older than this are collected, seconds [86400]
tombstone_retention_secs = ${c.gc.tombstone_retention_secs}

[rpc]
# largest JSON-RPC request body accepted on the socket, bytes [16777216]
max_body_bytes = ${c.rpc.max_body_bytes}

[events]
# period of the heartbeat event on /events, seconds [5]
heartbeat_secs = ${c.events.heartbeat_secs}

[log]
# merod.log level: trace, debug, info, warn, error or fatal ["info"]
level = ${q(c.log.level)}
`
}

export function writeConfig(path: string, c: Config): void {
  writeFileSync(path, renderConfig(c), { mode: 0o600 })
}
