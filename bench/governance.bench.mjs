// Governance figures (issue 3): remote-op apply throughput (decode + verify + authorise at the
// cut + persist) on the catch-up path (ingestPages: signatures checked on the verifier pool's
// workers one page ahead), against raw Ed25519 verify/s with the verifier the path uses
// (libsodium) in the same run, node:crypto's printed beside it; RSS of a process holding a group
// with 10,000 ops; `meroctl group add-members` of 100 identities in one command.
import { spawn, spawnSync } from 'node:child_process'
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, sign as sodiumSign, verify as sodiumVerify } from '../dist/core/crypto/ed25519.js'
import { VerifierPool } from '../dist/core/crypto/verifier-pool.js'
import { GroupStore } from '../dist/core/governance/group-store.js'
import { toBase58 } from '../dist/core/primitives/encoding.js'
import { Store } from '../dist/core/store/store.js'
import { median, report, round } from './lib/stats.mjs'
import { ingestPages } from '../dist/core/sync/group-sync.js'
import { MEROD_NODE_FLAGS } from '../dist/client/daemon-manager.js'

const N = 10_000
const root = fileURLToPath(new URL('..', import.meta.url))

const ROUNDS = 5

/** Single-thread verifies/s through the verifier the ingest path uses (libsodium, ed25519.ts). */
function sodiumVerifyPerSecond(count) {
  const k = generateKeyPair()
  const msgs = Array.from({ length: count }, (_, i) => Buffer.alloc(180, i % 251))
  const sigs = msgs.map((m) => sodiumSign(k.privateKey, m))
  const t = process.hrtime.bigint()
  for (let i = 0; i < count; i++) if (!sodiumVerify(k.publicKey, msgs[i], sigs[i])) throw new Error('verify failed')
  return count / (Number(process.hrtime.bigint() - t) / 1e9)
}

/** The same through node:crypto (OpenSSL), DESIGN's first choice: printed for comparison only. */
function rawVerifyPerSecond(count) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const key = createPublicKey({ key: publicKey.export({ format: 'der', type: 'spki' }), format: 'der', type: 'spki' })
  const msgs = Array.from({ length: count }, (_, i) => Buffer.alloc(180, i % 251))
  const sigs = msgs.map((m) => sign(null, m, privateKey))
  const t = process.hrtime.bigint()
  for (let i = 0; i < count; i++) if (!verify(null, msgs[i], key, sigs[i])) throw new Error('verify failed')
  return count / (Number(process.hrtime.bigint() - t) / 1e9)
}

/** A history of N ops by four admins on their own replicas, syncing every 25 ops (concurrent branches). */
function buildHistory() {
  const owner = generateKeyPair()
  const admins = [generateKeyPair(), generateKeyPair(), generateKeyPair()]
  const origin = new GroupStore()
  const { groupId, op: genesis } = origin.createGroup(owner)
  const all = [genesis.bytes]
  for (const a of admins) all.push(origin.issue(groupId, owner, { kind: 'MemberAdded', member: a.publicKey, role: 'admin' }).bytes)
  const authors = [owner, ...admins]
  const replicas = authors.map(() => {
    const r = new GroupStore()
    r.ingest(all)
    return r
  })
  let n = all.length
  while (n < N) {
    for (let w = 0; w < authors.length && n < N; w++, n++) {
      const op = n % 3 === 0 ? { kind: 'GroupAliasSet', alias: `g${n}` } : n % 3 === 1 ? { kind: 'MemberAliasSet', member: authors[w].publicKey, alias: `m${n}` } : { kind: 'DefaultCapabilitiesSet', capabilities: n % 32 }
      all.push(replicas[w].issue(groupId, authors[w], op).bytes)
    }
    if (n % 25 < 4) {
      for (const r of replicas) r.ingest(all.slice(-200))
    }
  }
  return { groupId, ops: all }
}

const home = mkdtempSync('/tmp/mero-bench-gov-')
try {
  const { groupId, ops } = buildHistory()
  const sodiumRates = []
  const opensslRates = []
  for (let r = 0; r < ROUNDS; r++) {
    sodiumRates.push(sodiumVerifyPerSecond(5_000))
    opensslRates.push(rawVerifyPerSecond(5_000))
  }
  const verifyRate = median(sodiumRates)
  report('crypto.ed25519_verify_raw', verifyRate, 'verifies/s', { verifier: 'libsodium (the ingest path)', rounds: sodiumRates.map((v) => round(v, 0)) })
  report('crypto.ed25519_verify_raw.node_crypto', median(opensslRates), 'verifies/s', { verifier: 'node:crypto (OpenSSL)', rounds: opensslRates.map((v) => round(v, 0)) })

  const store = await Store.open(`${home}/data`)
  const groups = new GroupStore(store)
  const t = process.hrtime.bigint()
  for (let i = 0; i < ops.length; i += 500) groups.ingest(ops.slice(i, i + 500))
  const secs = Number(process.hrtime.bigint() - t) / 1e9
  const view = groups.view(groupId)
  if (view.opCount !== ops.length) throw new Error(`only ${view.opCount} of ${ops.length} ops applied`)
  const rate = ops.length / secs
  report('governance.remote_apply.single_thread', rate, 'ops/s', { ops: ops.length, heads: view.heads.length })
  report('governance.remote_apply.single_thread.ratio_to_raw_verify', rate / verifyRate, 'x')

  // the catch-up path: pages of 500 (group sync's), signatures checked on the pool's workers one
  // page ahead of applying them; a fresh store each round
  const pool = new VerifierPool()
  try {
    pool.warm()
    // one round trip, so that the measured rounds do not include the workers' start-up
    const k = generateKeyPair()
    const probe = Array.from({ length: 64 }, (_, i) => ({ publicKey: k.publicKey, message: Buffer.from([i]), signature: sodiumSign(k.privateKey, Buffer.from([i])) }))
    if (!(await pool.verify(probe, () => false)).every(Boolean)) throw new Error('the workers did not verify the probe')
    const rates = []
    for (let r = 0; r < ROUNDS; r++) {
      const roundStore = await Store.open(`${home}/pooled-${r}`)
      const pooled = new GroupStore(roundStore)
      const before = pool.stats.onWorkers
      const pages = async function* () {
        for (let i = 0; i < ops.length; i += 500) yield ops.slice(i, i + 500)
      }
      const tp = process.hrtime.bigint()
      for await (const outcomes of ingestPages(pooled, pages(), pool)) if (outcomes.some((o) => o.status === 'invalid')) throw new Error('an op did not verify')
      rates.push(ops.length / (Number(process.hrtime.bigint() - tp) / 1e9))
      if (!pooled.view(groupId).stateHash.equals(view.stateHash)) throw new Error('the pooled ingest diverged')
      // every page went to the workers (each is 500 ops, over the pool's inline bound)
      if (pool.stats.onWorkers - before !== ops.length) throw new Error(`only ${pool.stats.onWorkers - before} of ${ops.length} signatures were checked on the workers`)
      await roundStore.close()
    }
    const prate = median(rates)
    report('governance.remote_apply', prate, 'ops/s', { ops: ops.length, workers: pool.running, verifiedOnWorkers: ops.length, rounds: rates.map((v) => round(v, 0)), target: '>= 6000' })
    report('governance.remote_apply.ratio_to_raw_verify', prate / verifyRate, 'x', { baseline: 'libsodium verifies/s on one thread', ratioToNodeCrypto: round(prate / median(opensslRates)), target: '>= 0.75' })
  } finally {
    await pool.close()
  }
  const t2 = process.hrtime.bigint()
  const reloaded = new GroupStore(store)
  reloaded.start()
  report('governance.reload_10k_ops', Number(process.hrtime.bigint() - t2) / 1e6, 'ms')
  await store.close()

  // a fresh process that holds only the group: its whole RSS
  const child = spawnSync(process.execPath, ['--expose-gc', `${root}/bench/lib/group-rss.mjs`, `${home}/data`], { encoding: 'utf8' })
  const { ops: held, rss } = JSON.parse(child.stdout)
  report('governance.process_rss_with_10k_op_group', rss, 'MB', { ops: held })

  // meroctl group add-members with 100 identities, against a running daemon
  const env = { ...process.env, NO_COLOR: '1' }
  const cli = (...args) => spawnSync(process.execPath, [`${root}/bin/run.js`, ...args, '--home', home], { env, encoding: 'utf8' })
  spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, '--node', 'n', 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
  const daemon = spawn(process.execPath, [...MEROD_NODE_FLAGS, `${root}/bin/merod.js`, '--home', home, '--node', 'n', 'run'], { stdio: 'ignore' })
  try {
    for (let i = 0; i < 200 && cli('node', 'status', '--node', 'n', '--no-start', '--json').status !== 0; i++) await new Promise((r) => setTimeout(r, 25))
    const gid = JSON.parse(cli('group', 'create', '--node', 'n', '--json').stdout).groupId
    const ids = Array.from({ length: 100 }, () => toBase58(generateKeyPair().publicKey))
    const t3 = process.hrtime.bigint()
    const r = cli('group', 'add-members', gid, ...ids, '--node', 'n', '--json')
    const ms = Number(process.hrtime.bigint() - t3) / 1e6
    if (r.status !== 0 || JSON.parse(r.stdout).added.length !== 100) throw new Error(`add-members failed: ${r.stderr}`)
    report('meroctl.group_add_members_100', ms, 'ms', { identities: 100 })
  } finally {
    daemon.kill('SIGTERM')
    await new Promise((r) => daemon.once('exit', r))
  }
} finally {
  rmSync(home, { recursive: true, force: true })
}
