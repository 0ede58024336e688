// Operator-experience figures (issue 18): `meroctl call --batch` and `meroctl group batch`
// throughput from a script (one meroctl process, start-up included), and the time of one shell
// completion request (the completer the shells' scripts run, asking the daemon for group names).
import { spawn, spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import bs58 from 'bs58'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { median, report } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const MEROCTL = `${root}/bin/run.js`
const COMPLETER = `${root}/dist/client/completion-main.js`
const home = mkdtempSync('/tmp/mero-bench-')
const env = { ...process.env, NO_COLOR: '1' }

function meroctl(args) {
  const r = spawnSync(process.execPath, [MEROCTL, ...args, '--home', home], { env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`meroctl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** Pipes `lines` into `meroctl <args>`; resolves with the wall time and the answer lines. */
function piped(args, lines) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint()
    const child = spawn(process.execPath, [MEROCTL, ...args, '--home', home], { env, stdio: ['pipe', 'pipe', 'inherit'] })
    let out = 0
    child.stdout.on('data', (d) => (out += d.toString().split('\n').length - 1))
    child.on('error', reject)
    child.on('close', () => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, answers: out }))
    child.stdin.end(lines.join('\n') + '\n')
  })
}

const identity = () => bs58.encode(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32))

try {
  spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: 'ignore' })
  const daemon = await startMerod(home, 'default', env)
  meroctl(['group', 'create', '--alias', 'team'])
  meroctl(['app', 'install', `${root}/apps/kv-store/build/kv-store.wasm`, '--alias', 'kv'])
  meroctl(['context', 'create', '--group', 'team', '--app', 'kv', '--alias', 'notes'])

  const N = 20_000
  const sets = Array.from({ length: N }, (_, i) => JSON.stringify({ context: 'notes', method: 'set', args: { key: `k${i}`, value: String(i) } }))
  await piped(['call', '--batch', '-'], sets.slice(0, 2000)) // warm-up
  const set = await piped(['call', '--batch', '-'], sets)
  if (set.answers !== N) throw new Error(`call --batch answered ${set.answers} of ${N} lines`)
  report('meroctl.call_batch.set', (N / set.ms) * 1000, 'calls/s', { calls: N, wall_ms: Math.round(set.ms), includes: 'meroctl start-up', target: '>= 2000' })
  const gets = Array.from({ length: N }, (_, i) => JSON.stringify({ context: 'notes', method: 'get', args: { key: `k${i}` } }))
  const get = await piped(['call', '--batch', '-'], gets)
  report('meroctl.call_batch.get', (N / get.ms) * 1000, 'calls/s', { calls: N, wall_ms: Math.round(get.ms), includes: 'meroctl start-up' })

  const G = 2_000
  const adds = Array.from({ length: G }, () => JSON.stringify({ op: 'add-members', group: 'team', identities: [identity()] }))
  const group = await piped(['group', 'batch', '-'], adds)
  if (group.answers !== G) throw new Error(`group batch answered ${group.answers} of ${G} lines`)
  report('meroctl.group_batch.add_members', (G / group.ms) * 1000, 'ops/s', { ops: G, wall_ms: Math.round(group.ms), includes: 'meroctl start-up', sequential: true })

  // one completion request, as bash makes it: `meroctl group get <TAB>` with the daemon running
  const complete = () => {
    const t = process.hrtime.bigint()
    const r = spawnSync(process.execPath, [COMPLETER, '5', 'meroctl', '--home', home, 'group', 'get', ''], { env, encoding: 'utf8' })
    if (!r.stdout.includes('team')) throw new Error(`the completer answered ${JSON.stringify(r.stdout)}`)
    return Number(process.hrtime.bigint() - t) / 1e6
  }
  const node0 = () => {
    const t = process.hrtime.bigint()
    spawnSync(process.execPath, ['-e', '0'])
    return Number(process.hrtime.bigint() - t) / 1e6
  }
  complete()
  const c = []
  const b = []
  for (let i = 0; i < 20; i++) {
    b.push(node0())
    c.push(complete())
  }
  report('meroctl.completion_request.wall', median(c), 'ms', { runs: 20, node_e_0_ms: Number(median(b).toFixed(1)) })
  report('meroctl.completion_request.ratio_to_node_e_0', median(c) / median(b), 'x', { runs: 20 })

  await stopMerod(daemon)
} finally {
  rmSync(home, { recursive: true, force: true })
}
