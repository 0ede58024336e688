import { randomBytes } from 'node:crypto'
import type { KeyPair } from '../crypto/ed25519.js'
import type { GroupStore } from '../governance/group-store.js'
import type { OpIssuer } from '../governance/issuer.js'
import type { Visibility } from '../governance/ops.js'
import { Emitter } from '../primitives/emitter.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MAX_JSON_DEPTH, nestsDeeperThan, textNestsDeeperThan } from '../primitives/json-depth.js'
import { MeroError } from '../primitives/errors.js'
import { groupIdToString } from '../primitives/ids.js'
import { Hlc, type HlcTimestamp } from '../primitives/hlc.js'
import type { CallOrigin, ExecutionOutcome, Executor, HostBlobs, LoadedModule, QueuedXCall, Runtime } from '../runtime/index.js'
import { ContextState, deltaId as deltaIdOf, encodeDelta, type SessionResult, type StateSession } from '../state/index.js'
import type { Store, WriteBatch } from '../store/store.js'
import { MAX_DELTA_PAYLOAD, signDelta, type SignedDeltaWire, type VerifiedDelta } from './delta-envelope.js'
import type { ApplicationStore } from './applications.js'
import { DeltaLog } from './delta-log.js'
import { decodeContextMeta, encodeContextMeta, type ContextMeta } from './context-meta.js'
import type { AppEvent, ContextEvents } from './events.js'

/**
 * ContextManager (seed 000's context lifecycle and seed 001's method-execution flow): creates
 * contexts in groups (registered by a governance op), executes methods in the wasm runtime over
 * the context's CRDT state, and commits state, delta and heads in one write batch. A failed call
 * commits nothing.
 */
export type { ContextMeta } from './context-meta.js'

/** What the group's governance says of a context (ContextManager.governance). */
export interface ContextGovernance {
  registered: boolean
  visibility?: Visibility
  allowlist: Buffer[]
  members: Buffer[]
  alias: string | null
  /** The group's target application, when the context runs another. */
  pendingUpgrade: Buffer | null
  upgradeError: string | null
  groupDeleted: boolean
}

export interface ExecutionResult {
  result: unknown
  events: AppEvent[]
  logs: string[]
  rootHash: string
  deltaId: string | null
  readOnly: boolean
  /** The cross-context calls the method queued, run after its delta was written, in order. */
  xcalls?: XCallResult[]
}

/** How a cross-context call went: the callee's result (and its own xcalls), or why it failed or was refused. */
export type XCallResult =
  | { context: string; method: string; ok: true; result: unknown; deltaId: string | null; xcalls?: XCallResult[] }
  | { context: string; method: string; ok: false; error: { kind: string; message: string } }

export interface ContextDeps {
  store: Store
  groups: GroupStore
  applications: ApplicationStore
  /** Compiles and caches modules. */
  runtime: Runtime
  /** Runs methods off the event loop (the node's worker threads). */
  executor: Executor
  identity: KeyPair
  /** Authors the ContextRegistered op of a new context (and publishes it, with a network). */
  issuer: OpIssuer
  /**
   * Whether the calls that reach a context together (while its calls run, or in one turn of the
   * event loop) commit as one delta [true]. False: one delta per mutating call.
   */
  coalesceCalls?: boolean
  /** The node's blobs, for the apps that share them with a context (blob_announce_to_context). */
  blobs?: HostBlobs
}

/** A call that ran in a shared session and waits for that session's commit. */
interface WaitingCall {
  result: unknown
  events: AppEvent[]
  xcalls: QueuedXCall[]
  logs: string[]
  readOnly: boolean
  /** Whether the call wrote anything (then the delta is also its). */
  wrote: boolean
  resolve: (r: WaitingResult) => void
  reject: (e: unknown) => void
}

/** A call's answer once its delta is written, with the cross-context calls it queued (still to run). */
type WaitingResult = Omit<ExecutionResult, 'xcalls'> & { queued: QueuedXCall[] }

/** The calls of one context that commit together. */
interface OpenCommit {
  session: StateSession
  calls: WaitingCall[]
  /** The events' data, which the delta carries too. */
  eventBytes: number
}

/** A call waiting for its turn on its context. */
interface QueuedCall {
  kind: 'call'
  /** The application the module is of: when a migration moved the context on meanwhile, the call runs the new one. */
  applicationId: Buffer
  module: LoadedModule
  method: string
  args: Buffer
  /** Read-only by the node's role in the group (besides what the module declares). */
  roleReadOnly: boolean
  origin?: CallOrigin
  resolve: (r: WaitingResult) => void
  reject: (e: unknown) => void
}

/** Work that has the context to itself (a migration): the open delta is written first, and calls queued after it wait. */
interface QueuedTask {
  kind: 'task'
  run: () => Promise<void>
}

/**
 * A context's calls run one after the other (each sees the writes of those before it) into the
 * delta they are building together.
 */
interface Lane {
  queue: (QueuedCall | QueuedTask)[]
  commit?: OpenCommit
  running: boolean
}

/**
 * A turn's delta takes no more calls past these, and the calls after them start the next one: a
 * delta stays small enough for one gossip message (256 KiB) when its calls are small, and a
 * burst of calls is not answered all at once at the end of a long turn.
 */
const MAX_CALLS_PER_DELTA = 64
const MAX_COALESCED_BYTES = 128 * 1024
/** What one call may add to a delta shared with others (see MAX_DELTA_PAYLOAD). */
const MAX_CALL_DELTA_BYTES = MAX_DELTA_PAYLOAD - 2 * MAX_COALESCED_BYTES

/** What an execution's events add to its delta, before JSON. */
function eventBytesOf(events: readonly { kind: string; data: Uint8Array }[]): number {
  let n = 0
  for (const e of events) n += e.kind.length + e.data.length
  return n
}

function tooLarge(bytes: number): MeroError {
  return new MeroError('LimitExceeded', `the call's changes and events make a delta of about ${bytes} bytes, more than the ${MAX_DELTA_PAYLOAD} a delta may have to reach the other members; write less in one call`)
}

/** A remote delta ready to merge: verified, authorised, its parents held. */
export interface ReadyDelta {
  verified: VerifiedDelta
  depth: number
}


const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

export class ContextManager {
  private readonly states = new Map<string, ContextState>()
  /**
   * Context metadata as last written (hex id → frozen meta): read on every call and every
   * received delta, several times each, and changed only here, after each write.
   */
  private readonly metas = new Map<string, Readonly<ContextMeta>>()
  /** Per context (hex id): the group's target application whose migration failed here, and why. */
  private readonly upgradeFailures = new Map<string, { target: Buffer; error: string }>()
  /** Per context (hex id): the calls queued or running, and the delta they build. */
  private readonly lanes = new Map<string, Lane>()
  private readonly clock: Hlc
  readonly log: DeltaLog
  /** Since start: mutating calls whose writes were committed, and the local deltas that carried them. */
  readonly stats = { calls: 0, deltas: 0 }
  /** Contexts created and deleted, deltas committed here, remote deltas applied or rejected. */
  readonly events = new Emitter<ContextEvents>()

  constructor(private readonly d: ContextDeps) {
    this.clock = new Hlc(d.identity.publicKey)
    this.log = new DeltaLog(d.store)
  }

  /** Throws when a remote timestamp is further ahead of this node's clock than the drift bound. */
  checkClock(hlc: HlcTimestamp): void {
    this.clock.check(hlc)
  }

  /** The in-memory caches of the contexts opened here: materialised texts, and delta depths. */
  cacheStats(): { textDocuments: { entries: number; dropped: number }; deltaDepths: { entries: number; dropped: number } } {
    const textDocuments = { entries: 0, dropped: 0 }
    for (const st of this.states.values()) {
      const c = st.textCache
      textDocuments.entries += c.entries
      textDocuments.dropped += c.dropped
    }
    return { textDocuments, deltaDepths: { entries: this.log.remembered, dropped: this.log.forgotten } }
  }

  /** The CRDT state of a context (one instance per context, so that commits are ordered). */
  state(contextId: Buffer): ContextState {
    const k = contextId.toString('hex')
    let st = this.states.get(k)
    if (!st) this.states.set(k, (st = new ContextState(this.d.store, contextId)))
    return st
  }

  // ---- storage ---------------------------------------------------------------------------

  get(contextId: Buffer): ContextMeta | undefined {
    return this.metaAt(contextId.toString('hex'), contextId)
  }

  /** `get`, for a caller that holds the id's hex already (the key of every per-context map here). */
  private metaAt(k: string, contextId: Buffer): ContextMeta | undefined {
    const cached = this.metas.get(k)
    if (cached) return cached
    const v = this.d.store.get('context', contextId)
    if (!v) return undefined
    const meta = decodeContextMeta(v)
    this.remember(contextId, meta)
    return meta
  }

  /** Records what was just written for a context (undefined: deleted). */
  private remember(contextId: Buffer, meta: ContextMeta | undefined): void {
    const k = contextId.toString('hex')
    if (!meta) {
      this.metas.delete(k)
      return
    }
    Object.freeze(meta.heads)
    this.metas.set(k, Object.freeze(meta))
  }

  require(contextId: Buffer, k = contextId.toString('hex')): ContextMeta {
    const meta = this.metaAt(k, contextId)
    if (!meta) throw new MeroError('ContextNotFound', `no context ${toBase58(contextId)} on this node; \`meroctl context list\` shows the contexts`)
    return meta
  }

  list(groupId?: Uint8Array): ContextMeta[] {
    return this.d.store
      .scan('context')
      .map(([, v]) => decodeContextMeta(v))
      .filter((m) => !groupId || m.groupId.equals(groupId))
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /**
   * CreateContext: runs the application's `init` (when it has one) on a fresh state, registers the
   * context in the group (ContextRegistered; needs the create-context capability; it carries the
   * context's first key, sealed to this node), then commits.
   */
  async create(groupId: Buffer, applicationId: Buffer, params: unknown, visibility?: Visibility): Promise<ContextMeta> {
    this.d.applications.require(applicationId)
    this.d.groups.state(groupId) // GroupNotFound
    if (this.d.groups.deleted(groupId)) throw new MeroError('GroupDeleted', `group ${groupIdToString(groupId)} is deleted`)
    const contextId = randomBytes(32)
    const module = await this.d.runtime.loadById(this.d.applications.moduleId(applicationId), () => this.d.applications.bytes(applicationId))
    const session = this.state(contextId).begin(this.d.identity.publicKey, this.clock)
    let events: { kind: string; data: unknown }[] = []
    if (module.methods.has('init')) {
      const outcome = await this.d.executor.run({ module, method: 'init', args: jsonArguments(params, 'the init parameters'), state: session, contextId, executor: this.d.identity.publicKey, blobs: this.d.blobs })
      if (outcome.xcalls.length) throw new MeroError('ExecutionFailed', "init cannot make cross-context calls (xcall): the context does not exist for the others yet")
      events = outcome.events.map(decodeEvent)
      const size = session.writtenBytes + eventBytesOf(outcome.events)
      if (size > MAX_CALL_DELTA_BYTES) throw tooLarge(size)
    }
    const result = session.finish()
    // register only once init succeeded (and its delta can be committed): a failed init leaves nothing behind
    await this.d.issuer.issue(groupId, { kind: 'ContextRegistered', contextId, application: applicationId, ...(visibility ? { visibility } : {}) })
    let meta: ContextMeta = { contextId, groupId: Buffer.from(groupId), applicationId: Buffer.from(applicationId), creator: this.d.identity.publicKey, createdAt: Date.now(), heads: [], rootHash: result.rootHash, deltas: 0 }
    const batch = this.d.store.batch()
    const committed = this.commit(batch, contextId, meta, session, result, events)
    meta = committed.meta
    const deltaId = committed.deltaId
    batch.put('context', contextId, encodeContextMeta(meta))
    batch.write()
    if (deltaId) {
      this.stats.calls++ // init
      this.stats.deltas++
    }
    this.remember(contextId, meta)
    this.events.emit('created', { contextId, meta })
    if (committed.id) this.events.emit('committed', { contextId, meta, deltaId: committed.id, wire: committed.wire!, events })
    return meta
  }

  /**
   * Execute: runs a method (on one of the node's execution workers); a mutating call that changed
   * state commits a delta.
   *
   * A context's calls run one after the other, in one shared session: the calls that reach it
   * while others run (several clients, or one with many calls in flight), or in the same turn of
   * the event loop, commit as one delta: one merge, one signature, one write and one publish for
   * all of them. Each call sees the writes of those before it; one that fails takes back its own
   * writes (a savepoint) and leaves the others'. Every call is answered once the delta is written,
   * with the delta's id and the root hash after it. A read-only call on a context with no calls
   * under way runs at once, beside the others.
   *
   * The cross-context calls a method queues (xcall) run once its delta is written, one after the
   * other (see runXCalls); the answer carries how each went. `origin` says how the call came to
   * run: as an event handler, or by a cross-context call (then the callee must declare the method
   * callable and share the caller's group).
   */
  async execute(contextId: Buffer, method: string, args: unknown, origin?: CallOrigin): Promise<ExecutionResult> {
    const k = contextId.toString('hex')
    let meta = this.require(contextId, k)
    const access = this.access(meta, contextId)
    meta = await this.upgradeIfTargeted(contextId, meta, access.target)
    const module = await this.moduleOf(meta)
    if (origin?.xcallFrom) this.checkCallable(Buffer.from(origin.xcallFrom), meta, module, method)
    if (module.abi?.migrations?.some((m) => m.method === method)) throw new MeroError('MethodNotFound', `'${method}' is the application's migration: it runs when a context moves to the application, and cannot be called`)
    const roleReadOnly = access.mode === 'read-only'
    const readOnly = module.readOnlyMethods.has(method) || roleReadOnly
    const argBytes = jsonArguments(args, `the arguments of '${method}'`)
    if (readOnly && !this.lanes.has(k)) return this.executeAlone(contextId, module, method, argBytes, origin)
    const done = await new Promise<WaitingResult>((resolve, reject) =>
      this.enqueue(k, contextId, { kind: 'call', applicationId: meta.applicationId, module, method, args: argBytes, roleReadOnly, ...(origin ? { origin } : {}), resolve, reject }),
    )
    const { queued, ...result } = done
    if (!queued.length) return result
    return { ...result, xcalls: await this.runXCalls(contextId, queued, origin?.depth ?? 0) }
  }

  /** A cross-context call reaches only a method its application declares callable (`"xcall": true`), of a context of the caller's group. */
  private checkCallable(from: Buffer, meta: ContextMeta, module: LoadedModule, method: string): void {
    const caller = this.metas.get(from.toString('hex'))
    if (!caller || !caller.groupId.equals(meta.groupId)) {
      throw new MeroError('NotAuthorized', `context ${toBase58(meta.contextId)} is not in the calling context's group: a cross-context call stays within one group`)
    }
    if (!module.callableMethods.has(method)) {
      throw new MeroError('NotAuthorized', `method '${method}' of context ${toBase58(meta.contextId)} may not be called by other contexts (its application does not declare it "xcall": true)`)
    }
  }

  /**
   * Runs the calls a method queued into other contexts, in order, each as a call of its own (a
   * delta of its own in its context), one level deeper. One that is refused or fails does not stop
   * the others, and takes back nothing of the caller's (already written).
   */
  private async runXCalls(from: Buffer, calls: QueuedXCall[], depth: number): Promise<XCallResult[]> {
    const out: XCallResult[] = []
    for (const c of calls) {
      const target = Buffer.from(c.contextId)
      const context = toBase58(target)
      try {
        let args: unknown = null
        if (c.params.length) {
          try {
            args = JSON.parse(Buffer.from(c.params).toString('utf8'))
          } catch {
            throw new MeroError('InvalidInput', `the params of the cross-context call to '${c.method}' are not JSON`)
          }
        }
        if (!this.metas.has(target.toString('hex'))) throw new MeroError('ContextNotFound', `context ${context} is not held by this node`)
        const r = await this.execute(target, c.method, args, { xcallFrom: from, depth: depth + 1 })
        out.push({ context, method: c.method, ok: true, result: r.result, deltaId: r.deltaId, ...(r.xcalls ? { xcalls: r.xcalls } : {}) })
      } catch (e) {
        const err = e instanceof MeroError ? e : new MeroError('Internal', (e as Error)?.message ?? String(e))
        out.push({ context, method: c.method, ok: false, error: { kind: err.kind, message: err.message } })
      }
    }
    return out
  }

  /** A read-only call in a session of its own. */
  private async executeAlone(contextId: Buffer, module: LoadedModule, method: string, args: Buffer, origin?: CallOrigin): Promise<ExecutionResult> {
    const executor = this.d.identity.publicKey
    const session = this.state(contextId).begin(executor, this.clock)
    const outcome = await this.d.executor.run({ module, method, args, state: session, contextId, executor, readOnly: true, blobs: this.d.blobs, ...(origin ? { origin } : {}) })
    const meta = this.require(contextId)
    return { result: decodeJson(outcome.result), events: outcome.events.map(decodeEvent), logs: outcome.logs, rootHash: hex(meta.rootHash), deltaId: null, readOnly: true }
  }

  /** The compiled module of the application a context runs. */
  private moduleOf(meta: Readonly<ContextMeta>): Promise<LoadedModule> {
    const appId = meta.applicationId
    return this.d.runtime.loadById(this.d.applications.moduleId(appId), () => this.d.applications.bytes(appId))
  }

  private enqueue(k: string, contextId: Buffer, call: QueuedCall | QueuedTask): void {
    let lane = this.lanes.get(k)
    if (!lane) this.lanes.set(k, (lane = { queue: [], running: false }))
    lane.queue.push(call)
    if (!lane.running) void this.drain(k, contextId, lane)
  }

  /** Runs a lane's calls until none is left; the delta closes once this turn ends (calls arriving in it still join). */
  private async drain(k: string, contextId: Buffer, lane: Lane): Promise<void> {
    lane.running = true
    try {
      while (lane.queue.length) {
        const next = lane.queue.shift()!
        if (next.kind === 'call') {
          await this.runQueued(contextId, lane, next)
          continue
        }
        if (lane.commit) this.closeCommit(contextId, lane)
        await next.run()
      }
    } finally {
      lane.running = false
    }
    setImmediate(() => {
      if (lane.running) return // a new drain closes it
      if (lane.commit) this.closeCommit(contextId, lane)
      if (!lane.running && !lane.queue.length && this.lanes.get(k) === lane) this.lanes.delete(k)
    })
  }

  /** One call of a lane, in the lane's open session. */
  private async runQueued(contextId: Buffer, lane: Lane, call: QueuedCall): Promise<void> {
    const meta = this.get(contextId)
    if (meta && !meta.applicationId.equals(call.applicationId)) {
      try {
        call.module = await this.moduleOf(meta) // a migration ran before this call's turn
        call.applicationId = meta.applicationId
      } catch (e) {
        return call.reject(e)
      }
    }
    const readOnly = call.module.readOnlyMethods.has(call.method) || call.roleReadOnly
    const commit = (lane.commit ??= { session: this.state(contextId).begin(this.d.identity.publicKey, this.clock), calls: [], eventBytes: 0 })
    const mark = commit.session.savepoint()
    const sizeBefore = commit.session.writtenBytes
    let outcome: ExecutionOutcome
    try {
      outcome = await this.d.executor.run({ module: call.module, method: call.method, args: call.args, state: commit.session, contextId, executor: this.d.identity.publicKey, readOnly, blobs: this.d.blobs, ...(call.origin ? { origin: call.origin } : {}) })
    } catch (e) {
      commit.session.rollbackTo(mark)
      return call.reject(e)
    }
    const wrote = !outcome.readOnly && commit.session.wroteSince(mark)
    const eventBytes = eventBytesOf(outcome.events)
    const size = commit.session.writtenBytes - sizeBefore + eventBytes
    if (size > MAX_CALL_DELTA_BYTES) {
      commit.session.rollbackTo(mark)
      return call.reject(tooLarge(size))
    }
    commit.eventBytes += eventBytes
    commit.calls.push({ result: decodeJson(outcome.result), events: outcome.events.map(decodeEvent), xcalls: outcome.xcalls, logs: outcome.logs, readOnly: outcome.readOnly, wrote, resolve: call.resolve, reject: call.reject })
    const full = commit.calls.length >= MAX_CALLS_PER_DELTA || commit.session.writtenBytes + commit.eventBytes >= MAX_COALESCED_BYTES
    if (full || this.d.coalesceCalls === false) this.closeCommit(contextId, lane)
  }

  /** Commits what the lane's calls wrote, as one delta, then answers each of them. */
  private closeCommit(contextId: Buffer, lane: Lane): void {
    const commit = lane.commit
    lane.commit = undefined
    if (!commit || commit.calls.length === 0) return // the only call failed, and took its writes back
    let committed: { meta: ContextMeta; deltaId: string | null }
    try {
      const writers = commit.calls.filter((c) => c.wrote).length
      committed = this.commitSession(contextId, this.require(contextId), commit.session, commit.calls.flatMap((c) => c.events), writers)
    } catch (e) {
      for (const c of commit.calls) c.reject(e)
      return
    }
    for (const c of commit.calls) {
      c.resolve({ result: c.result, events: c.events, logs: c.logs, rootHash: hex(committed.meta.rootHash), deltaId: c.wrote ? committed.deltaId : null, readOnly: c.readOnly, queued: c.xcalls })
    }
  }

  /** Writes a session's state rows and its delta (if it wrote anything), announces and publishes it; `calls` wrote into it. */
  private commitSession(contextId: Buffer, meta: ContextMeta, session: StateSession, events: { kind: string; data: unknown }[], calls: number): { meta: ContextMeta; deltaId: string | null } {
    const result = session.finish()
    if (result.actions.length === 0) {
      session.writePrivate() // node-local writes commit without a delta
      return { meta, deltaId: null }
    }
    const batch = this.d.store.batch()
    const committed = this.commit(batch, contextId, meta, session, result, events)
    batch.put('context', contextId, encodeContextMeta(committed.meta))
    batch.write()
    this.stats.calls += calls
    this.stats.deltas++
    this.remember(contextId, committed.meta)
    if (this.events.listens('committed')) this.events.emit('committed', { contextId, meta: committed.meta, deltaId: committed.id!, wire: committed.wire!, events })
    return committed
  }

  /**
   * UpdateApplication: the context runs another installed application; its state is kept, and
   * migrated when the new application keeps a newer state version (its ABI's `stateVersion`, 1
   * when absent): its migration from the context's version runs once, on this node, and what it
   * writes commits atomically with the switch (one write batch, a delta of its own). A failed
   * migration writes nothing and the context keeps running the application it ran, with an error
   * that says so. The switch waits for the calls before it and the calls after it wait for it.
   */
  async updateApplication(contextId: Buffer, applicationId: Buffer): Promise<ContextMeta> {
    const meta = this.require(contextId)
    this.d.applications.require(applicationId)
    if (meta.applicationId.equals(applicationId) && !meta.upgrading) return meta
    return new Promise<ContextMeta>((resolve, reject) => {
      this.enqueue(contextId.toString('hex'), contextId, { kind: 'task', run: () => this.switchApplication(contextId, applicationId).then(resolve, reject) })
    })
  }

  /** The switch itself, with the context to itself (see updateApplication). */
  private async switchApplication(contextId: Buffer, toId: Buffer): Promise<ContextMeta> {
    const meta = this.require(contextId)
    const to = toBase58(toId)
    const from = toBase58(meta.applicationId)
    const context = toBase58(meta.contextId)
    const [current, next] = await Promise.all([this.moduleOf(meta), this.d.runtime.loadById(this.d.applications.moduleId(toId), () => this.d.applications.bytes(toId))])
    const have = stateVersionOf(current)
    const want = stateVersionOf(next)
    const settle = (m: ContextMeta): ContextMeta => {
      const out = { ...m }
      delete out.upgrading
      return out
    }
    if (from === to || want === have) {
      const switched = settle({ ...meta, applicationId: toId })
      this.d.store.put('context', contextId, encodeContextMeta(switched))
      this.remember(contextId, switched)
      return switched
    }
    if (want < have) {
      throw new MeroError('InvalidInput', `application ${to} keeps state version ${want}, older than version ${have} of context ${context}: a context's state does not go back`)
    }
    const migration = next.abi?.migrations?.find((m) => m.from === have)
    if (!migration) {
      throw new MeroError('InvalidInput', `application ${to} keeps state version ${want} and declares no migration from version ${have}, which context ${context} holds (application ${from})`)
    }
    // the intent first: a node stopped while the migration runs runs it again at start
    const intent = { ...meta, upgrading: toId }
    this.d.store.put('context', contextId, encodeContextMeta(intent))
    this.remember(contextId, intent)
    const session = this.state(contextId).begin(this.d.identity.publicKey, this.clock)
    let events: AppEvent[]
    try {
      const outcome = await this.d.executor.run({ module: next, method: migration.method, state: session, contextId, executor: this.d.identity.publicKey, blobs: this.d.blobs })
      if (outcome.xcalls.length) throw new MeroError('ExecutionFailed', 'a migration cannot make cross-context calls (xcall)')
      const size = session.writtenBytes + eventBytesOf(outcome.events)
      if (size > MAX_CALL_DELTA_BYTES) throw tooLarge(size)
      events = outcome.events.map(decodeEvent)
    } catch (e) {
      const back = settle(this.require(contextId))
      this.d.store.put('context', contextId, encodeContextMeta(back))
      this.remember(contextId, back)
      const err = e instanceof MeroError ? e : new MeroError('Internal', (e as Error)?.message ?? String(e))
      throw new MeroError(err.kind, `the migration '${migration.method}' of application ${to} (state version ${have} to ${want}) failed, and context ${context} keeps running application ${from}: ${err.message}`, err.details)
    }
    // the migrated state and the switch in one write batch
    const result = session.finish()
    const batch = this.d.store.batch()
    const committed = this.commit(batch, contextId, settle({ ...this.require(contextId), applicationId: toId }), session, result, events)
    batch.put('context', contextId, encodeContextMeta(committed.meta))
    batch.write()
    if (committed.id) this.stats.deltas++
    this.remember(contextId, committed.meta)
    this.upgradeFailures.delete(contextId.toString('hex'))
    if (committed.id && this.events.listens('committed')) this.events.emit('committed', { contextId, meta: committed.meta, deltaId: committed.id, wire: committed.wire!, events })
    return committed.meta
  }

  /**
   * Upgrades a node stopped in the middle of (a kill during a migration): each context whose
   * migration had not committed runs it again. Returns how each went; one that fails keeps its
   * application.
   */
  async resumeUpgrades(): Promise<{ contextId: string; applicationId: string; error?: string }[]> {
    const out: { contextId: string; applicationId: string; error?: string }[] = []
    for (const meta of this.list()) {
      if (!meta.upgrading) continue
      const ids = { contextId: toBase58(meta.contextId), applicationId: toBase58(meta.upgrading) }
      try {
        await this.updateApplication(meta.contextId, meta.upgrading)
        out.push(ids)
      } catch (e) {
        out.push({ ...ids, error: (e as Error).message })
      }
    }
    return out
  }

  /** DeleteContext: removes the context's state, deltas and metadata from this node (its keys stay with the group's). */
  delete(contextId: Buffer): void {
    this.require(contextId)
    const batch = this.d.store.batch()
    this.state(contextId).clearInto(batch)
    this.log.deleteAll(batch, contextId)
    batch.del('context', contextId)
    batch.write()
    this.remember(contextId, undefined)
    this.states.delete(contextId.toString('hex'))
    this.events.emit('deleted', { contextId })
  }

  /** What the group's governance says of this context (visibility, allowlist, members, alias). */
  governance(meta: ContextMeta): ContextGovernance {
    const { groupId, contextId } = meta
    const c = this.d.groups.context(groupId, contextId)
    const target = this.d.groups.targetApplication(groupId)
    return {
      registered: Boolean(c),
      visibility: c?.visibility,
      allowlist: c?.allowlist ?? [],
      members: c?.members ?? [],
      alias: c?.alias ?? null,
      pendingUpgrade: target && !target.equals(meta.applicationId) ? target : null,
      upgradeError: this.upgradeFailures.get(contextId.toString('hex'))?.error ?? null,
      groupDeleted: this.d.groups.deleted(groupId),
    }
  }

  // ---- internals -----------------------------------------------------------------------

  /**
   * This node's identity must be a member of the group joined to the context, and may still read
   * it (a restricted context's allowlist); read-only members only read.
   */
  private access(meta: ContextMeta, contextId: Buffer): { mode: 'write' | 'read-only'; target?: Buffer } {
    const a = this.d.groups.contextAccess(meta.groupId, contextId, this.d.identity.publicKey)
    if (a.deleted) throw new MeroError('GroupDeleted', `the group of context ${toBase58(contextId)} is deleted`)
    if (!a.registered) throw new MeroError('ContextNotFound', `context ${toBase58(contextId)} is no longer registered in group ${groupIdToString(meta.groupId)}`)
    if (!a.role) throw new MeroError('NotAuthorized', `${toBase58(this.d.identity.publicKey)} is not a member of group ${groupIdToString(meta.groupId)}`)
    if (!a.joined) throw new MeroError('NotAuthorized', `${toBase58(this.d.identity.publicKey)} has not joined context ${toBase58(contextId)}`)
    if (!a.reads) throw new MeroError('NotAuthorized', `${toBase58(this.d.identity.publicKey)} is no longer on the allowlist of restricted context ${toBase58(contextId)}`)
    return { mode: a.role === 'read-only' ? 'read-only' : 'write', target: a.target }
  }

  /**
   * UpgradeGroup, lazily: a context moves to the group's target application on its next
   * execution (migrated, see updateApplication). When its migration fails, the context keeps
   * its application (the failure is kept for `context get`) and it is not tried again until the
   * node restarts or the target changes.
   */
  private async upgradeIfTargeted(contextId: Buffer, meta: ContextMeta, target: Buffer | undefined): Promise<ContextMeta> {
    if (!target || target.equals(meta.applicationId) || !this.d.applications.get(target)) return meta
    const k = contextId.toString('hex')
    if (this.upgradeFailures.get(k)?.target.equals(target)) return meta
    try {
      return await this.updateApplication(contextId, target)
    } catch (e) {
      this.upgradeFailures.set(k, { target, error: (e as Error).message })
      return this.require(contextId)
    }
  }

  /**
   * Adds the session's state rows and its signed delta (parents = the heads; governance position
   * = the group's heads) to the batch.
   */
  private commit(batch: WriteBatch, contextId: Buffer, meta: ContextMeta, session: StateSession, result: SessionResult, events: { kind: string; data: unknown }[]): { meta: ContextMeta; deltaId: string | null; id?: Buffer; wire?: SignedDeltaWire } {
    session.privateInto(batch)
    if (result.actions.length === 0) return { meta, deltaId: null }
    const parents = meta.heads
    const bytes = encodeDelta({ contextId, parents, hlc: result.hlc!, author: result.author, actions: result.actions })
    const id = deltaIdOf(bytes)
    const position = this.d.groups.heads(meta.groupId)
    const wire = signDelta(this.d.identity, contextId, position, { delta: bytes, events: JSON.stringify(events) })
    // checked before the state rows go into the batch: a delta no peer could fetch is not committed
    if (wire.payload.length > MAX_DELTA_PAYLOAD) throw tooLarge(wire.payload.length)
    const rootHash = session.commitInto(batch)
    const depth = this.log.depthOf(contextId, parents) // the heads' depths are remembered: no read
    const idHex = hex(id)
    this.log.put(batch, contextId, id, { depth, parents, checkpoint: false }, wire)
    return { meta: { ...meta, rootHash, heads: [id], deltas: meta.deltas + 1 }, deltaId: idHex, id, wire }
  }

  /**
   * Merges remote deltas (verified, authorised, parents held, in causal order) into the state in
   * one write batch with their records and the new heads. Returns the root hash after them.
   */
  commitRemote(contextId: Buffer, ready: ReadyDelta[]): ContextMeta {
    let meta = this.require(contextId)
    const batch = this.d.store.batch()
    const rootHash = this.state(contextId).applyDeltas(ready.map((r) => r.verified.delta), batch, this.clock)
    // by idKey, in the order of their bytes (the stored order)
    const heads = new Map(meta.heads.map((h) => [hex(h), h]))
    for (const { verified, depth } of ready) {
      for (const p of verified.delta.parents) heads.delete(hex(p))
      heads.set(hex(verified.id), verified.id)
      this.log.put(batch, contextId, verified.id, { depth, parents: verified.delta.parents, checkpoint: false }, verified.wire)
    }
    meta = { ...meta, rootHash, heads: [...heads.keys()].sort().map((k) => heads.get(k)!), deltas: meta.deltas + ready.length }
    batch.put('context', contextId, encodeContextMeta(meta))
    batch.write()
    this.remember(contextId, meta)
    return meta
  }

  /**
   * A context this node joins (JoinContext): its metadata, with an empty state (its key is the
   * group's: GroupStore.keyAt). Its deltas (or a snapshot) follow by sync.
   */
  adopt(contextId: Buffer, groupId: Buffer, applicationId: Buffer, creator: Buffer): ContextMeta {
    const existing = this.get(contextId)
    if (existing) return existing
    const meta: ContextMeta = { contextId, groupId, applicationId, creator, createdAt: Date.now(), heads: [], rootHash: this.state(contextId).rootHash(), deltas: 0 }
    const batch = this.d.store.batch()
    batch.put('context', contextId, encodeContextMeta(meta))
    batch.write()
    this.remember(contextId, meta)
    return meta
  }

  /**
   * Installs a snapshot on a context with no state yet: the entity records, the boundary heads as
   * checkpoints, in one batch. The resulting root hash must be the peer's, or nothing is written.
   */
  installSnapshot(contextId: Buffer, records: Buffer[], boundary: { heads: Buffer[]; depths: number[]; rootHash: Buffer; deltaCount: number }): ContextMeta {
    const meta = this.require(contextId)
    if (meta.heads.length || meta.deltas) throw new MeroError('Conflict', `context ${toBase58(contextId)} already has state; a snapshot only goes onto a fresh context`)
    const batch = this.d.store.batch()
    const rootHash = this.state(contextId).importRecords(records, batch)
    if (!rootHash.equals(boundary.rootHash)) {
      this.states.delete(contextId.toString('hex')) // drop the unwritten working set
      throw new MeroError('SyncFailed', `the snapshot's root hash ${hex(rootHash)} is not the peer's ${hex(boundary.rootHash)}`)
    }
    boundary.heads.forEach((h, i) => this.log.put(batch, contextId, h, { depth: boundary.depths[i]!, parents: [], checkpoint: true }))
    const next = { ...meta, rootHash, heads: [...boundary.heads].sort(Buffer.compare), deltas: boundary.deltaCount }
    batch.put('context', contextId, encodeContextMeta(next))
    batch.write()
    this.remember(contextId, next)
    return next
  }

}

/** A call's arguments as JSON bytes; nested past the limit they are refused (stringify would overflow). */
function jsonArguments(value: unknown, what: string): Buffer {
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) throw new MeroError('InvalidInput', `${what} nest deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`)
  return Buffer.from(JSON.stringify(value ?? {}))
}

/** What an application returned or emitted: JSON when it is JSON (not nested past the limit), else the text. */
function decodeJson(bytes: Uint8Array): unknown {
  if (!bytes.length) return null
  const text = Buffer.from(bytes).toString('utf8')
  if (textNestsDeeperThan(text, MAX_JSON_DEPTH)) return text // JSON.stringify of the answer would overflow the stack
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The state layout version an application keeps (its ABI's stateVersion; 1 when it declares none). */
function stateVersionOf(module: LoadedModule): number {
  return module.abi?.stateVersion ?? 1
}

function decodeEvent(e: { kind: string; data: Uint8Array; handler?: string }): AppEvent {
  return { kind: e.kind, data: decodeJson(e.data), ...(e.handler ? { handler: e.handler } : {}) }
}

