/**
 * An execution worker: runs methods (Engine.execute) on a thread of its own, so that a method
 * that spins or grinds never holds the daemon's event loop. The context's state stays on the
 * daemon's thread: each host call into it is a blocking round trip (worker-protocol.ts).
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import { MeroError } from '../primitives/errors.js'
import type { HostBlobs, HostState } from './host-state.js'
import { Engine, type LoadedModule } from './engine.js'
import { DEFAULT_LIMITS } from './limits.js'
import {
  ANNOUNCE, exact, HOST_STATE_METHODS, type HostReply, type HostRequest, type ModuleTransfer, pack, type ReadyMessage, type RunMessage,
  deserializeError, serializeError, unpack,
} from './worker-protocol.js'

interface WorkerData {
  /** Int32Array over a SharedArrayBuffer: [0] is raised by the daemon's thread when a reply is posted. */
  flag: SharedArrayBuffer
  replies: MessagePort
}

const { flag, replies } = workerData as WorkerData
const signal = new Int32Array(flag)
const port = parentPort!
const engine = new Engine(DEFAULT_LIMITS)
const modules = new Map<string, LoadedModule>()
let current = -1

/** One host call answered by the daemon's thread; blocks until it is. */
function ask(fn: string, args: unknown[]): unknown {
  Atomics.store(signal, 0, 0)
  const transfer: ArrayBuffer[] = []
  const request: HostRequest = { type: 'host', id: current, fn, args: args.map((a) => pack(a, transfer)) }
  port.postMessage(request, transfer)
  Atomics.wait(signal, 0, 0)
  const message = receiveMessageOnPort(replies)
  if (!message) throw new MeroError('Internal', `host call ${fn}: the daemon raised the reply flag without a reply`)
  const reply = message.message as HostReply
  if (!reply.ok) throw deserializeError(reply.error)
  return unpack(reply.value)
}

const state = Object.fromEntries(HOST_STATE_METHODS.map((fn) => [fn, (...args: unknown[]) => ask(fn, args)])) as unknown as HostState
const blobs: HostBlobs = { announce: (id, contextId) => ask(ANNOUNCE, [id, contextId]) as number | undefined }

function revive(m: ModuleTransfer): LoadedModule {
  return {
    applicationId: Buffer.from(m.applicationId),
    entryPoints: new Set(m.entryPoints),
    methods: new Set(m.methods),
    readOnlyMethods: new Set(m.readOnlyMethods),
    callableMethods: new Set(m.callableMethods),
    maxMemoryPages: m.maxMemoryPages,
    initialMemoryPages: m.initialMemoryPages,
    ...(m.start ? { start: m.start } : {}),
    compiled: m.compiled,
  }
}

port.on('message', (job: RunMessage) => {
  for (const key of job.drop ?? []) modules.delete(key)
  if (job.module) modules.set(job.module.key, revive(job.module))
  current = job.id
  try {
    const module = modules.get(job.moduleKey)
    if (!module) throw new MeroError('Internal', `the execution worker does not hold module ${job.moduleKey}`)
    const outcome = engine.execute({
      module, method: job.method, args: job.args, state, contextId: job.contextId, executor: job.executor,
      limits: job.limits, readOnly: job.readOnly, ...(job.blobs ? { blobs } : {}), ...(job.origin ? { origin: job.origin } : {}),
    })
    const sent = {
      ...outcome, result: exact(outcome.result),
      events: outcome.events.map((e) => ({ kind: e.kind, data: exact(e.data), ...(e.handler ? { handler: e.handler } : {}) })),
      xcalls: outcome.xcalls.map((c) => ({ contextId: exact(c.contextId), method: c.method, params: exact(c.params) })),
    }
    port.postMessage({ type: 'done', id: job.id, outcome: sent })
  } catch (e) {
    port.postMessage({ type: 'failed', id: job.id, error: serializeError(e) })
  }
})

port.postMessage({ type: 'ready' } satisfies ReadyMessage)
