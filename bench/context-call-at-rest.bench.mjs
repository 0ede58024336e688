// Encryption at rest (issue 16, item 6): the cost of store.encryption_key_file on calls. Two
// daemons, one without and one with a store key, each with a kv-store context; rounds of 3,000
// `set` calls with 16 in flight alternate between them (so a shift in the machine's load falls
// on both), five rounds each, and the median round of each is reported with the daemon's CPU
// time per call. The cost is the relative loss of throughput and the relative gain of CPU per
// call; target: at most 10 %.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { callRound } from './lib/cpu.mjs'
import { startMerod, stopMerod } from './lib/merod.mjs'
import { median, report } from './lib/stats.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync('/tmp/mero-bench-rest-')
const merod = (node, ...args) => spawnSync(process.execPath, [`${root}/bin/merod.js`, '--home', home, '--node', node, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', ...args], { stdio: 'ignore' })
merod('plain')
merod('sealed', '--encryption-key-file', `${home}/sealed.key`)

const nodes = {}
try {
  for (const node of ['plain', 'sealed']) {
    const daemon = await startMerod(home, node)
    const { storeKeyId } = await daemon.rpc.call('node.status')
    if (Boolean(storeKeyId) !== (node === 'sealed')) throw new Error(`node ${node}: encryption at rest is ${storeKeyId ? 'on' : 'off'}`)
    const cli = spawnSync(process.execPath, [`${root}/bin/run.js`, 'app', 'install', `${root}/apps/kv-store/build/kv-store.wasm`, '--home', home, '--node', node, '--json'], { encoding: 'utf8' })
    const { applicationId } = JSON.parse(cli.stdout)
    const { groupId } = await daemon.rpc.call('group.create', {})
    const { contextId } = await daemon.rpc.call('context.create', { group: groupId, application: applicationId })
    const set = (i) => daemon.rpc.call('context.execute', { context: contextId, method: 'set', args: { key: `k${i % 500}`, value: `value number ${i} of the round` } })
    nodes[node] = { daemon, contextId, set, rounds: [] }
    for (let i = 0; i < 300; i++) await set(i) // warm-up: module compiled, caches filled
  }

  const total = 3000
  // a first round with calls in flight ran at half the rate of the next ones: not counted
  for (const { daemon, set } of Object.values(nodes)) await callRound(daemon.child.pid, set, 1000)
  for (let r = 0; r < 5; r++) {
    for (const node of r % 2 ? ['sealed', 'plain'] : ['plain', 'sealed']) {
      const { daemon, set, rounds } = nodes[node]
      rounds.push(await callRound(daemon.child.pid, set, total))
    }
  }
  const figures = {}
  for (const node of ['plain', 'sealed']) {
    const { rounds } = nodes[node]
    figures[node] = { rate: median(rounds.map((x) => x.rate)), cpuUs: rounds[0].cpuUs === undefined ? undefined : median(rounds.map((x) => x.cpuUs)) }
    const label = node === 'plain' ? 'off' : 'on'
    report(`context.call_set.throughput_16_in_flight.encryption_${label}`, figures[node].rate, 'calls/s', { calls: total, rounds: rounds.map((x) => Math.round(x.rate)) })
    if (figures[node].cpuUs !== undefined) report(`context.call_set.daemon_cpu_per_call.encryption_${label}`, figures[node].cpuUs, 'µs', { rounds: rounds.map((x) => Math.round(x.cpuUs)) })
  }
  report('context.call_set.encryption_at_rest.throughput_cost', (1 - figures.sealed.rate / figures.plain.rate) * 100, '%', { target: '<= 10' })
  if (figures.plain.cpuUs !== undefined) report('context.call_set.encryption_at_rest.cpu_cost', (figures.sealed.cpuUs / figures.plain.cpuUs - 1) * 100, '%', { target: '<= 10' })
  for (const { daemon, contextId } of Object.values(nodes)) {
    const { result } = await daemon.rpc.call('context.execute', { context: contextId, method: 'len', args: {} })
    if (result !== 500) throw new Error(`expected 500 keys, got ${result}`)
  }
} finally {
  for (const { daemon } of Object.values(nodes)) await stopMerod(daemon)
  rmSync(home, { recursive: true, force: true })
}
