// Backup and restore of a node holding 10,000 deltas (issue 17): `node.backup` while the node
// runs (the RPC's wall time, store copy and blobs), then `merod restore` of that backup into a
// fresh node folder (the process's wall time: checks, store open with its log verified, copy).
// The history is written one delta per call (context.coalesce_calls = false).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { report } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const MEROD = `${root}/bin/merod.js`
const home = mkdtempSync('/tmp/mero-bench-bk-')
const DELTAS = 10_000

function merod(args) {
  const t = performance.now()
  const r = spawnSync(process.execPath, [MEROD, '--home', home, ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`merod ${args.join(' ')} failed: ${r.stderr}`)
  return { ms: performance.now() - t, out: r.stdout }
}

let d
try {
  merod(['init', '--listen', '/ip4/127.0.0.1/tcp/0'])
  const config = `${home}/default/config.toml`
  writeFileSync(config, readFileSync(config, 'utf8').replace('coalesce_calls = true', 'coalesce_calls = false'))
  d = await startMerod(home)
  const { groupId } = await d.rpc.call('group.create', {})
  const blob = await new Promise((resolve, reject) => {
    const r = spawnSync(process.execPath, [`${root}/bin/run.js`, 'app', 'install', `${root}/apps/kv-store/build/kv-store.wasm`, '--home', home, '--json'], { encoding: 'utf8' })
    r.status === 0 ? resolve(JSON.parse(r.stdout)) : reject(new Error(r.stderr))
  })
  const { contextId } = await d.rpc.call('context.create', { group: groupId, application: blob.applicationId })
  for (let i = 0; i < DELTAS; i += 16) {
    await Promise.all(Array.from({ length: Math.min(16, DELTAS - i) }, (_, j) => d.rpc.call('context.execute', { context: contextId, method: 'set', args: { key: `k-${(i + j) % 2000}`, value: `${i + j}` } })))
  }
  const meta = await d.rpc.call('context.get', { context: contextId })
  if (meta.deltas < DELTAS) throw new Error(`only ${meta.deltas} deltas`)

  const backups = []
  for (let round = 0; round < 3; round++) {
    const dir = `${home}/backup-${round}`
    const t = performance.now()
    const m = await d.rpc.call('node.backup', { dir })
    backups.push({ ms: performance.now() - t, m, dir })
  }
  backups.sort((a, b) => a.ms - b.ms)
  const mid = backups[1]
  const rows = Object.values(mid.m.rows).reduce((a, b) => a + b, 0)
  report('node.backup_10k_deltas', mid.ms, 'ms', { runs: backups.map((b) => Math.round(b.ms)), deltas: meta.deltas, rows, bytes: mid.m.bytes, while: 'the node runs' })
  await stopMerod(d)
  d = undefined

  const restores = []
  for (let round = 0; round < 3; round++) restores.push(merod(['--node', `restored-${round}`, 'restore', mid.dir, '--json']).ms)
  restores.sort((a, b) => a - b)
  report('node.restore_10k_deltas', restores[1], 'ms', { runs: restores.map(Math.round), deltas: meta.deltas, rows, note: 'merod restore process wall time, checks included' })
} finally {
  if (d) await stopMerod(d).catch(() => undefined)
  rmSync(home, { recursive: true, force: true })
}
