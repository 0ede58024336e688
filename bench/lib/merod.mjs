// Starting and stopping a real merod for the benchmarks, with the flags meroctl launches it with.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MEROD_NODE_FLAGS, merodEnv } from '../../dist/client/daemon-manager.js'
import { RpcClient } from '../../dist/client/rpc-client.js'

const MEROD = fileURLToPath(new URL('../../bin/merod.js', import.meta.url))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// MEROD_PROF=<dir> writes a V8 CPU profile of each daemon there when it exits (sampled every
// MEROD_PROF_INTERVAL µs, when set); MEROD_STDERR=1
// passes the daemons' stderr through (both for looking into a figure, not for reporting one)
const profile = process.env.MEROD_PROF
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MEROD_PROF}`, ...(process.env.MEROD_PROF_INTERVAL ? [`--cpu-prof-interval=${process.env.MEROD_PROF_INTERVAL}`] : [])]
  : []
const stdio = process.env.MEROD_STDERR ? ['ignore', 'ignore', 'inherit'] : 'ignore'

/**
 * Daemons started here and not stopped yet. A bench that dies (a step throws, an EPIPE on its
 * stdout) leaves none running: they are killed when this process exits, however it exits.
 */
const live = new Set()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** Spawns `merod run` for a node of `home` (under `wrap` when given) and resolves once node.status answers. */
export async function startMerod(home, node = 'default', env = process.env, wrap = []) {
  const t = performance.now()
  // `wrap`: a command the daemon runs under, e.g. ['ip', 'netns', 'exec', <namespace>]
  const argv = [process.execPath, ...MEROD_NODE_FLAGS, ...profile, MEROD, '--home', home, '--node', node, 'run']
  const [command, ...args] = [...wrap, ...argv]
  const child = spawn(command, args, { env: merodEnv(env), stdio })
  live.add(child)
  child.once('exit', () => live.delete(child))
  const rpc = new RpcClient(`${home}/${node}/merod.sock`, { timeoutMs: 30_000 })
  for (let i = 0; i < 3000; i++) {
    try {
      await rpc.call('node.status')
      return { node, child, rpc, readyMs: performance.now() - t }
    } catch {
      await sleep(5)
    }
  }
  child.kill('SIGKILL')
  throw new Error(`merod ${node} did not become ready`)
}

/** node.stop, then waits for the process to exit. */
export async function stopMerod(d) {
  const exited = new Promise((r) => d.child.once('exit', r))
  await d.rpc.call('node.stop').catch(() => {})
  d.rpc.close()
  await exited
}
