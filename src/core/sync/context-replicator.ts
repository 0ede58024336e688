import type { ContextManager, ContextMeta } from '../context/context-manager.js'
import type { RemoteDeltas } from '../context/remote-deltas.js'
import type { KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import type { GroupStore } from '../governance/group-store.js'
import type { GroupOp, SignedOp } from '../governance/ops.js'
import type { EventBus } from '../node/event-bus.js'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { ContextSyncClient, serveContextSync } from './context-sync.js'
import { openDelta, openDeltas, sealDelta, sealDeltas, verifyDelta, verifyDeltas, DeltaRejected, type VerifiedDelta } from './delta-envelope.js'
import { memberAuth, peerLacks, type FrameChannel } from './group-sync.js'
import type { PeerNetwork, TopicMessageEvent } from './transport.js'
import { contextTopic, decodeTopicMessage, encodeTopicMessage, groupTopic, MAX_DELTAS_PER_MESSAGE, MAX_HEADS, MAX_TOPIC_MESSAGE, SYNC_PROTOCOL, type SignedDeltaWire, type SyncFrame, type TopicMessage } from './wire.js'

/**
 * Seed 001's "gossip broadcast → remote apply → convergence" for contexts, and its SyncManager:
 *
 * - every locally committed delta is signed, sealed with the context key and published on
 *   `mero/ctx/<base58>`;
 * - received deltas go through a bounded inbound queue (overflow is dropped, counted and repaired
 *   by sync), are opened, verified and handed to the context's DAG (RemoteDeltas);
 * - heartbeats carry each context's root hash and heads; an unknown head, missing parents, a
 *   peer connecting or `context sync` start a sync session: the peer's heads, then every delta
 *   we lack (one request; the peer walks its DAG), then any parents still missing by id. A fresh
 *   node behind a long history takes a snapshot of the entity tree first;
 * - sessions are bounded in number and time and retried with backoff; their outcome is kept
 *   per context (`status`) and reported as events.
 */
export interface ContextReplicatorOptions {
  heartbeatMs: number
  syncTimeoutMs?: number
  maxConcurrentSyncs?: number
  /** Received messages waiting to be processed; beyond this they are dropped (and synced later). */
  inboundQueue?: number
  /** A fresh node takes a snapshot when the peer holds at least this many deltas. */
  snapshotThreshold?: number
  /** Whole-session bound. */
  sessionTimeoutMs?: number
  /**
   * Installs an application this node lacks, fetched from `peers` (in order) or other providers,
   * proving membership of the group that uses it (JoinContext without the app).
   */
  fetchApplication?: (applicationId: Buffer, peers: string[], groupId: string) => Promise<void>
}

export type ContextDropReason = 'malformed' | 'oversized' | 'bad_signature' | 'undecryptable' | 'unknown_context' | 'wrong_topic' | 'queue_full' | 'wrong_context'

export interface ContextSyncStatus {
  syncing: boolean
  peers: number
  pendingDeltas: number
  failures: number
  lastSync?: SyncOutcome
  /** The last session that fetched something (sessions after it often find nothing left). */
  lastFetch?: SyncOutcome
}

export interface SyncOutcome {
  at: number
  peerId: string
  ok: boolean
  method: string
  fetched: number
  durationMs: number
  error?: string
}

export interface ContextReplicatorDeps {
  contexts: ContextManager
  remote: RemoteDeltas
  groups: GroupStore
  identity: KeyPair
  network: PeerNetwork
  events: EventBus
  issue: (groupId: string, op: GroupOp) => Promise<SignedOp>
  /** Verifies catch-up pages on worker threads. */
  pool?: VerifierPool
}

type Inbound = { contextId: Buffer; verified: VerifiedDelta; from: string }
type Inspected =
  | { verdict: 'accept'; kind: 'heartbeat'; msg: Extract<TopicMessage, { type: 'ContextHeartbeat' }> }
  | { verdict: 'accept'; kind: 'deltas'; contextId: Buffer; verified: VerifiedDelta[] }
  | { verdict: 'reject' | 'ignore'; reason: ContextDropReason }

const CONTEXT_TOPIC_PREFIX = 'mero/ctx/'
const HEARTBEAT_SYNC_DELAY_MS = 250
/** Deltas of a sync page verified (on the pool) and merged at a time. */
const VERIFY_CHUNK = 256
/** Deltas behind a peer beyond which a session starts the verifier pool's workers. */
const LONG_CATCH_UP = 2000
/** Room left in a StateDeltas message for its envelope (tag, ids, lengths, nonce and tag of the seal). */
const SEALED_BATCH_OVERHEAD = 256

const hex = (b: Buffer) => b.toString('hex')

export class ContextReplicator {
  private readonly subscribed = new Set<string>()
  private readonly inbound: Inbound[] = []
  private draining = false
  /** A message was applied directly in this event-loop turn (see onMessage). */
  private appliedThisTurn = false
  /** Per context: the pending sync's timer and why it is wanted (see schedule). */
  private readonly scheduled = new Map<string, { timer: NodeJS.Timeout; wanted: (() => boolean)[] | 'always' }>()
  /** The session running per context, so that a join can wait for it instead of failing. */
  private readonly running = new Map<string, Promise<{ fetched: number; method: string }>>()
  private readonly failures = new Map<string, number>()
  private readonly last = new Map<string, SyncOutcome>()
  private readonly lastFetch = new Map<string, SyncOutcome>()
  /** Deltas received while a snapshot of their context is being installed. */
  private readonly held = new Map<string, { deltas: VerifiedDelta[]; from: string }[]>()
  private readonly retryGroups = new Set<string>()
  private active = 0
  private timers: NodeJS.Timeout[] = []
  private offMessages?: () => void
  private offValidator?: () => void
  /** Messages the validation hook accepted, decoded and verified, until their delivery. */
  private readonly checked = new WeakMap<Uint8Array, Inspected>()
  /** Per context (base58): deltas committed after the first one of this event-loop turn. */
  private readonly outbox = new Map<string, { contextId: Buffer; key: Buffer; wires: SignedDeltaWire[] }>()
  private offEvents?: () => void
  private stopped = false
  readonly dropped: Record<ContextDropReason, number> = { malformed: 0, oversized: 0, bad_signature: 0, undecryptable: 0, unknown_context: 0, wrong_topic: 0, queue_full: 0, wrong_context: 0 }
  received = 0
  published = 0
  divergences = 0

  constructor(
    private readonly d: ContextReplicatorDeps,
    private readonly opts: ContextReplicatorOptions,
  ) {}

  start(): void {
    this.offMessages = this.d.network.onMessage((m) => this.onMessage(m))
    // where the network has a validation hook, deltas are checked before gossipsub forwards them
    this.offValidator = this.d.network.setTopicValidator?.(CONTEXT_TOPIC_PREFIX, (m) => {
      const r = this.inspect(m)
      if (r.verdict === 'accept') this.checked.set(m.data, r)
      else this.reportRejected(m, r)
      return r.verdict
    })
    for (const meta of this.d.contexts.list()) this.follow(meta)
    this.offEvents = this.d.events.on((e) => {
      if (e.type === 'context.deleted') {
        this.unfollow(e.contextId)
        this.d.remote.forget(fromBase58(e.contextId, 'context id', 32))
      } else if (e.type === 'context.created') {
        const meta = this.d.contexts.get(fromBase58(e.contextId, 'context id', 32))
        if (meta) this.follow(meta)
      } else if (e.type === 'group.op.applied') {
        this.retryGovernance(e.groupId)
      } else if (e.type === 'group.member.removed' && e.identity === toBase58(this.d.identity.publicKey)) {
        for (const meta of this.d.contexts.list(e.groupId)) this.unfollow(meta.contextId)
      }
    })
    const beat = setInterval(() => void this.beat(), this.opts.heartbeatMs)
    const expire = setInterval(() => this.d.remote.expire(), 60_000)
    beat.unref()
    expire.unref()
    this.timers = [beat, expire]
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearInterval(t)
    for (const s of this.scheduled.values()) clearTimeout(s.timer)
    this.scheduled.clear()
    this.offMessages?.()
    this.offValidator?.()
    this.offEvents?.()
  }

  /** Subscribes to a context's topic (a context this node holds with its key). */
  follow(meta: ContextMeta): void {
    if (this.subscribed.has(meta.contextId) || !this.d.contexts.key(fromBase58(meta.contextId, 'context id', 32))) return
    this.subscribed.add(meta.contextId)
    this.d.network.subscribe(contextTopic(meta.contextId))
  }

  private unfollow(contextIdB58: string): void {
    if (!this.subscribed.delete(contextIdB58)) return
    this.d.network.unsubscribe(contextTopic(contextIdB58))
  }

  // ---- publishing ----------------------------------------------------------------------------

  /**
   * ContextManager's onCommitted: seal and publish a locally authored delta. The first delta of an
   * event-loop turn goes at once (a lone write waits for nothing); those committed after it in the
   * same turn (concurrent calls) follow together in StateDeltas messages at the turn's end.
   */
  onCommitted(meta: ContextMeta, _deltaId: Buffer, wire: SignedDeltaWire): void {
    const contextId = fromBase58(meta.contextId, 'context id', 32)
    const key = this.d.contexts.key(contextId)
    if (!key) return
    this.follow(meta)
    const queued = this.outbox.get(meta.contextId)
    if (queued) {
      queued.wires.push(wire)
      return
    }
    this.outbox.set(meta.contextId, { contextId, key, wires: [] })
    setImmediate(() => this.flushOutbox(meta.contextId))
    this.publishDeltas(meta.contextId, encodeTopicMessage(sealDelta(contextId, key, wire)), 1)
  }

  private flushOutbox(contextIdB58: string): void {
    const o = this.outbox.get(contextIdB58)
    this.outbox.delete(contextIdB58)
    if (!o?.wires.length || this.stopped) return
    if (o.wires.length === 1) return this.publishDeltas(contextIdB58, encodeTopicMessage(sealDelta(o.contextId, o.key, o.wires[0]!)), 1)
    let chunk: SignedDeltaWire[] = []
    let bytes = 0
    const send = () => {
      if (chunk.length) this.publishDeltas(contextIdB58, encodeTopicMessage(sealDeltas(o.contextId, o.key, chunk)), chunk.length)
      chunk = []
      bytes = 0
    }
    for (const w of o.wires) {
      const size = 32 + 4 + 32 * w.govPosition.length + 64 + 4 + w.payload.length
      if (chunk.length && (bytes + size > MAX_TOPIC_MESSAGE - SEALED_BATCH_OVERHEAD || chunk.length >= MAX_DELTAS_PER_MESSAGE)) send()
      chunk.push(w)
      bytes += size
    }
    send()
  }

  private publishDeltas(contextIdB58: string, bytes: Buffer, count: number): void {
    // a delta too large for gossip reaches peers by sync, announced by the next heartbeat
    if (bytes.length > MAX_TOPIC_MESSAGE) return
    this.published += count
    void this.d.network.publish(contextTopic(contextIdB58), bytes).catch(() => undefined)
  }

  // ---- receiving -----------------------------------------------------------------------------

  private onMessage(m: TopicMessageEvent): void {
    if (!m.topic.startsWith(CONTEXT_TOPIC_PREFIX)) return
    let r = this.checked.get(m.data)
    if (r) this.checked.delete(m.data)
    else this.reportRejected(m, (r = this.inspect(m)))
    if (r.verdict !== 'accept') return
    if (r.kind === 'heartbeat') return this.onHeartbeat(r.msg, m.from)
    if (this.inbound.length + r.verified.length > (this.opts.inboundQueue ?? 8192)) {
      this.dropped.queue_full += r.verified.length
      this.d.events.emit({ type: 'peer.rate_limited', peerId: m.from, what: 'inbound deltas (queue full)', dropped: r.verified.length })
      this.schedule(r.contextId, m.from, 'inbound queue overflow', 500)
      return
    }
    // the first message of an event-loop turn is applied at once (a lone delta waits for nothing);
    // those arriving after it in the same turn are queued and applied together
    if (!this.draining && !this.appliedThisTurn) {
      this.appliedThisTurn = true
      setImmediate(() => (this.appliedThisTurn = false))
      this.ingest(r.contextId, r.verified, m.from)
      return
    }
    for (const verified of r.verified) this.inbound.push({ contextId: r.contextId, verified, from: m.from })
    if (!this.draining) {
      this.draining = true
      setImmediate(() => this.drain())
    }
  }

  /**
   * Decodes a context topic message, checks its topic, opens it with the context key and verifies
   * it; counts drops. A context this node does not hold is ignored; anything else is the sender's
   * fault.
   */
  private inspect(m: TopicMessageEvent): Inspected {
    this.received++
    const topicContext = m.topic.slice(CONTEXT_TOPIC_PREFIX.length)
    let msg: TopicMessage
    try {
      msg = decodeTopicMessage(m.data)
    } catch (e) {
      return this.drop(/exceeds/.test((e as Error).message) ? 'oversized' : 'malformed')
    }
    if (msg.type !== 'StateDelta' && msg.type !== 'StateDeltas' && msg.type !== 'ContextHeartbeat') return this.drop('wrong_topic')
    const meta = this.d.contexts.get(msg.contextId)
    // a held context's id is in its metadata in base58: no encoding on the way of every delta
    if ((meta?.contextId ?? toBase58(msg.contextId)) !== topicContext) return this.drop('wrong_topic')
    const key = this.d.contexts.key(msg.contextId)
    if (!key || !meta) return this.drop('unknown_context')
    if (msg.type === 'ContextHeartbeat') return { verdict: 'accept', kind: 'heartbeat', msg }
    try {
      // a batch is accepted whole or not at all: an honest author signs every delta it seals
      const wires = msg.type === 'StateDelta' ? [openDelta(msg, key)] : openDeltas(msg, key)
      if (wires.length === 0) throw new DeltaRejected('malformed', 'a StateDeltas message without deltas')
      return { verdict: 'accept', kind: 'deltas', contextId: msg.contextId, verified: wires.map((w) => verifyDelta(msg.contextId, w)) }
    } catch (e) {
      return { verdict: 'reject', reason: this.countFault(e) }
    }
  }

  private drop(reason: ContextDropReason): Inspected {
    this.dropped[reason]++
    return { verdict: reason === 'unknown_context' ? 'ignore' : 'reject', reason }
  }

  /** The sender of a message refused as its fault is reported (the operator's log summarises them). */
  private reportRejected(m: TopicMessageEvent, r: Inspected): void {
    if (r.verdict === 'reject') this.d.events.emit({ type: 'message.rejected', peerId: m.from, topic: 'context', reason: r.reason })
  }

  /** Applies queued deltas, a bounded slice at a time, one write batch per context per slice. */
  private drain(): void {
    if (this.stopped) return void (this.inbound.length = 0)
    const slice = this.inbound.splice(0, 512)
    const byContext = new Map<string, { contextId: Buffer; deltas: VerifiedDelta[]; from: string }>()
    for (const { contextId, verified, from } of slice) {
      const k = hex(contextId)
      let group = byContext.get(k)
      if (!group) byContext.set(k, (group = { contextId, deltas: [], from }))
      group.deltas.push(verified)
    }
    for (const { contextId, deltas, from } of byContext.values()) this.ingest(contextId, deltas, from)
    if (this.inbound.length && !this.stopped) setImmediate(() => this.drain())
    else this.draining = false
  }

  private countFault(e: unknown): ContextDropReason {
    const f = e instanceof DeltaRejected ? (e.fault === 'unknown_key' ? 'undecryptable' : e.fault) : 'malformed'
    this.dropped[f]++
    return f
  }

  /** Hands verified deltas to the DAG; schedules a sync when parents are missing. */
  private ingest(contextId: Buffer, deltas: VerifiedDelta[], from: string): number {
    const k = hex(contextId)
    const hold = this.held.get(k)
    if (hold) {
      hold.push({ deltas, from })
      return 0
    }
    if (!this.d.contexts.get(contextId)) return 0
    const results = this.d.remote.receive(contextId, deltas, from)
    // parents are often still in flight (another author's gossip): sync only if they stay missing
    if (results.some((r) => r.status === 'pending' && !r.reason)) this.schedule(contextId, from, 'missing parents', 50, () => this.d.remote.missing(contextId).length > 0)
    return results.filter((r) => r.status === 'applied').length
  }

  private onHeartbeat(msg: Extract<TopicMessage, { type: 'ContextHeartbeat' }>, from: string): void {
    const meta = this.d.contexts.get(msg.contextId)!
    const unknown = () => msg.heads.some((h) => !this.d.contexts.log.has(msg.contextId, h) && !this.d.remote.isPending(msg.contextId, h))
    // while peers write, a heartbeat names heads whose gossip is on its way: sync only for those
    // still unknown a moment later
    if (unknown()) return this.schedule(msg.contextId, from, 'heartbeat', HEARTBEAT_SYNC_DELAY_MS, unknown)
    const same = msg.heads.length === meta.heads.length && msg.heads.every((h) => meta.heads.includes(hex(h)))
    if (same && hex(msg.rootHash) !== meta.rootHash) this.divergences++
  }

  private async beat(): Promise<void> {
    for (const b58 of this.subscribed) {
      const meta = this.d.contexts.get(fromBase58(b58, 'context id', 32))
      if (!meta) continue
      const msg = encodeTopicMessage({ type: 'ContextHeartbeat', contextId: fromBase58(b58, 'context id', 32), rootHash: Buffer.from(meta.rootHash, 'hex'), heads: meta.heads.slice(0, 256).map((h) => Buffer.from(h, 'hex')), deltaCount: meta.deltas })
      await this.d.network.publish(contextTopic(b58), msg).catch(() => undefined)
    }
  }

  private retryGovernance(groupId: string): void {
    if (this.retryGroups.has(groupId)) return
    this.retryGroups.add(groupId)
    setImmediate(() => {
      this.retryGroups.delete(groupId)
      if (this.stopped) return // the store may be closed by now
      for (const meta of this.d.contexts.list(groupId)) {
        const id = fromBase58(meta.contextId, 'context id', 32)
        if (this.d.remote.pendingCount(id)) this.d.remote.retry(id)
      }
    })
  }

  // ---- serving -------------------------------------------------------------------------------

  /** Serves an inbound context sync stream (the SyncServer routes ContextHello here). */
  serve(channel: FrameChannel, hello: Extract<SyncFrame, { type: 'ContextHello' }>): void {
    void serveContextSync(channel, hello, { contexts: this.d.contexts, groups: this.d.groups, self: this.d.network.peerId }, { timeoutMs: this.opts.syncTimeoutMs }).catch(() => undefined)
  }

  // ---- sync sessions -------------------------------------------------------------------------

  /**
   * Debounced, bounded sync of a context from a peer. With `stillWanted`, the sync runs only if it
   * (or the reason of any other request folded into the same pending sync) still holds when the
   * delay is over. A request made while a session of the context runs is kept until that session
   * is over: the session may have read the peer's heads before what the request is about.
   */
  schedule(contextId: Buffer, peerId: string, reason: string, delayMs = 20, stillWanted?: () => boolean): void {
    const k = hex(contextId)
    if (this.stopped) return
    const pending = this.scheduled.get(k)
    if (pending) {
      // many conditions at once (a burst of deltas missing parents): then it just runs
      if (pending.wanted !== 'always') pending.wanted = stillWanted && pending.wanted.length < 16 ? [...pending.wanted, stillWanted] : 'always'
      return
    }
    const fire = (): void => {
      const running = this.running.get(k)
      if (running) return void running.catch(() => undefined).then(fire)
      this.scheduled.delete(k)
      if (this.stopped || (entry.wanted !== 'always' && !entry.wanted.some((w) => w()))) return
      void this.catchUp(contextId, peerId, reason).catch(() => undefined)
    }
    const entry = { wanted: stillWanted ? [stillWanted] : ('always' as const), timer: setTimeout(fire, delayMs) }
    entry.timer.unref()
    this.scheduled.set(k, entry)
  }

  /** Syncs a context from one peer now, after the session of the context already running, if any. */
  async catchUp(contextId: Buffer, peerId: string, reason: string): Promise<{ fetched: number; method: string }> {
    const k = hex(contextId)
    for (let p = this.running.get(k); p; p = this.running.get(k)) await p.catch(() => undefined)
    if (this.active >= (this.opts.maxConcurrentSyncs ?? 4)) {
      this.schedule(contextId, peerId, reason, 200)
      throw new MeroError('Unavailable', 'too many sync sessions; retrying')
    }
    // one session per context at a time (the loop above), so runSession's own cleanup is safe
    const session = this.runSession(contextId, peerId, reason)
    this.running.set(k, session)
    return session
  }

  /** Like catchUp, but a session already running on the context is waited for and stands for this one. */
  private catchUpOrJoin(contextId: Buffer, peerId: string, reason: string): Promise<{ fetched: number; method: string }> {
    return this.running.get(hex(contextId)) ?? this.catchUp(contextId, peerId, reason)
  }

  private async runSession(contextId: Buffer, peerId: string, reason: string): Promise<{ fetched: number; method: string }> {
    const k = hex(contextId)
    const b58 = toBase58(contextId)
    this.active++
    const started = Date.now()
    this.d.events.emit({ type: 'sync.started', contextId: b58, peerId, reason })
    let client: ContextSyncClient | undefined
    const deadline = setTimeout(() => client?.close(), this.opts.sessionTimeoutMs ?? 120_000)
    deadline.unref()
    try {
      const channel = await this.d.network.open(peerId, SYNC_PROTOCOL)
      client = await ContextSyncClient.open(channel, contextId, memberAuth(this.d.identity, peerId), this.opts.syncTimeoutMs)
      const r = await this.session(client, contextId, peerId)
      await client.close()
      this.failures.delete(k)
      const durationMs = Date.now() - started
      const outcome = { at: Date.now(), peerId, ok: true, method: r.method, fetched: r.fetched, durationMs }
      this.last.set(k, outcome)
      if (r.fetched > 0) this.lastFetch.set(k, outcome)
      this.d.events.emit({ type: 'sync.finished', contextId: b58, peerId, ok: true, fetched: r.fetched, durationMs, method: r.method })
      return r
    } catch (e) {
      client?.close().catch(() => undefined)
      if (peerLacks(e)) {
        // no replica: nothing to fetch there, and nothing to retry or to show as a failure
        this.d.events.emit({ type: 'sync.finished', contextId: b58, peerId, ok: true, fetched: 0, durationMs: Date.now() - started, method: 'none', skipped: (e as Error).message })
        throw e
      }
      const n = (this.failures.get(k) ?? 0) + 1
      this.failures.set(k, n)
      const durationMs = Date.now() - started
      this.last.set(k, { at: Date.now(), peerId, ok: false, method: 'none', fetched: 0, durationMs, error: (e as Error).message })
      this.d.events.emit({ type: 'sync.finished', contextId: b58, peerId, ok: false, fetched: 0, durationMs, error: (e as Error).message })
      const refused = (e as MeroError).kind === 'NotAuthorized'
      if (!refused && n < 6 && !this.stopped) this.schedule(contextId, peerId, `retry ${n}`, Math.min(200 * 2 ** n, 10_000))
      throw e
    } finally {
      clearTimeout(deadline)
      this.active--
      this.running.delete(k)
    }
  }

  /** One session: snapshot when fresh and far behind, then the deltas we lack, then missing parents. */
  private async session(client: ContextSyncClient, contextId: Buffer, peerId: string): Promise<{ fetched: number; method: string }> {
    const heads = await client.heads()
    let meta = this.d.contexts.require(contextId)
    let fetched = 0
    const methods: string[] = []
    const fresh = meta.heads.length === 0 && meta.deltas === 0
    if (fresh && heads.deltaCount >= (this.opts.snapshotThreshold ?? 1000)) {
      const k = hex(contextId)
      this.held.set(k, [])
      try {
        const snap = await client.snapshot()
        meta = this.d.contexts.installSnapshot(contextId, snap.records, snap.boundary)
        fetched += snap.records.length
        methods.push('snapshot')
      } finally {
        const held = this.held.get(k) ?? []
        this.held.delete(k)
        for (const h of held) this.ingest(contextId, h.deltas, h.from)
      }
    }
    const lacking = heads.heads.some((h) => !this.d.contexts.log.has(contextId, h))
    // a long catch-up is worth the verifier pool's start-up (see COLD_INLINE_BELOW)
    if (lacking && heads.deltaCount - meta.deltas > LONG_CATCH_UP) this.d.pool?.warm()
    if (lacking) {
      const heads = this.d.contexts.require(contextId).heads.map((h) => Buffer.from(h, 'hex'))
      const have = this.d.contexts.log.negotiation(contextId, heads.slice(0, MAX_HEADS - 32))
      fetched += await client.diff(have, (page) => this.ingestWire(contextId, page, peerId), 10_000_000)
      methods.push('deltas')
    }
    // parents still missing (a peer that lacked some, or a pruned walk): ask by id, a few rounds
    for (let round = 0; round < 16; round++) {
      const missing = this.d.remote.missing(contextId).filter((id) => !this.d.contexts.log.has(contextId, id))
      if (!missing.length) break
      const n = await client.fetch(missing.slice(0, 1024), (page) => this.ingestWire(contextId, page, peerId))
      if (n === 0) break
      fetched += n
      if (!methods.includes('by-id')) methods.push('by-id')
    }
    return { fetched, method: methods.join('+') || 'none' }
  }

  /**
   * Verifies a page on the pool in chunks and merges each chunk as soon as it is verified, in
   * order: the workers check the next chunks while this thread merges the ones before.
   */
  private async ingestWire(contextId: Buffer, page: SignedDeltaWire[], from: string): Promise<void> {
    const checks: Promise<Awaited<ReturnType<typeof verifyDeltas>>>[] = []
    for (let i = 0; i < page.length; i += VERIFY_CHUNK) {
      const check = verifyDeltas(contextId, page.slice(i, i + VERIFY_CHUNK), this.d.pool)
      check.catch(() => undefined) // awaited below, in order; a later one may fail first
      checks.push(check)
    }
    for (const check of checks) {
      const { verified, faults } = await check
      for (const f of faults) this.countFault(f)
      if (verified.length) this.ingest(contextId, verified, from)
    }
  }

  /** Candidate peers for a context: its topic's, then its group's, then every connected peer. */
  private candidates(meta: { contextId: string; groupId: string }): string[] {
    const out = new Set([...this.d.network.topicPeers(contextTopic(meta.contextId)), ...this.d.network.topicPeers(groupTopic(meta.groupId)), ...this.d.network.connectedPeers()])
    return [...out]
  }

  /** A peer connected: compare every followed context with it. */
  peerConnected(peerId: string): void {
    for (const b58 of this.subscribed) this.schedule(fromBase58(b58, 'context id', 32), peerId, 'peer connected', 20)
  }

  /** SyncContext: a session now with every candidate peer (until one succeeds when `firstOnly`). */
  async syncNow(contextId: Buffer): Promise<{ peers: number; fetched: number; errors: string[] }> {
    const meta = this.d.contexts.require(contextId)
    const peers = this.candidates(meta)
    let fetched = 0
    const errors: string[] = []
    for (const p of peers) {
      try {
        fetched += (await this.catchUp(contextId, p, 'requested')).fetched
      } catch (e) {
        errors.push(`${p}: ${(e as Error).message}`)
      }
    }
    return { peers: peers.length, fetched, errors }
  }

  /**
   * JoinContext: a member of the context's group that may read it gets the context key (and the
   * application, when missing) from a peer that holds it, registers its joining in the group
   * (ContextJoined), follows the topic and syncs the state.
   */
  async join(contextId: Buffer, opts: { retryForMs?: number } = {}): Promise<{ contextId: string; groupId: string; fetched: number; method: string }> {
    const b58 = toBase58(contextId)
    const groupId = this.d.groups.groupIds().find((g) => this.d.groups.view(g).contexts.some((c) => c.contextId === b58))
    if (!groupId) throw new MeroError('ContextNotFound', `no group held by this node registers context ${b58}; join its group first (\`meroctl group join\`)`)
    const me = hex(Buffer.from(this.d.identity.publicKey))
    const why = this.d.groups.whyNotReader(groupId, hex(contextId), me)
    if (why) throw new MeroError('NotAuthorized', `cannot join context ${b58}: ${why}`)
    const registered = this.d.groups.view(groupId).contexts.find((c) => c.contextId === b58)!
    const peers = this.candidates({ contextId: b58, groupId })
    let source: string | undefined
    let given: { key: Buffer; applicationId: Buffer } | undefined
    // a peer that has not seen our membership yet refuses; with retryForMs, ask again a while
    const deadline = Date.now() + (opts.retryForMs ?? 0)
    for (let attempt = 0; !this.d.contexts.key(contextId); attempt++) {
      const errors: string[] = []
      for (const p of this.candidates({ contextId: b58, groupId })) {
        try {
          const client = await ContextSyncClient.open(await this.d.network.open(p, SYNC_PROTOCOL), contextId, memberAuth(this.d.identity, p), this.opts.syncTimeoutMs)
          const { key, applicationId } = await client.key()
          await client.close()
          if (toBase58(applicationId) !== registered.applicationId && !this.d.groups.view(groupId).settings.targetApplication) {
            throw new MeroError('SyncFailed', `the peer runs application ${toBase58(applicationId)}, not the registered ${registered.applicationId}`)
          }
          given = { key, applicationId }
          source = p
          break
        } catch (e) {
          errors.push(`${p}: ${(e as Error).message}`)
        }
      }
      if (source) break
      if (Date.now() >= deadline) throw new MeroError('PeerUnreachable', `no peer gave the key of context ${b58}${errors.length ? `: ${errors.join('; ')}` : ' (no connected peer holds it)'}`)
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000)))
    }
    // the application first: a join that cannot get it stores nothing, not a context it cannot run
    const appId = given?.applicationId ?? fromBase58(this.d.contexts.require(contextId).applicationId, 'application id', 32)
    if (this.opts.fetchApplication) await this.opts.fetchApplication(appId, source ? [source, ...peers.filter((p) => p !== source)] : peers, groupId)
    if (given) this.d.contexts.adopt(contextId, groupId, toBase58(given.applicationId), registered.creator ?? '', given.key)
    const meta = this.d.contexts.require(contextId)
    if (this.d.groups.contextAccess(groupId, hex(contextId), me).joined !== true) await this.d.issue(groupId, { kind: 'ContextJoined', contextId })
    this.follow(meta)
    let fetched = 0
    let method = 'none'
    for (const p of source ? [source, ...peers.filter((x) => x !== source)] : peers) {
      try {
        const r = await this.catchUpOrJoin(contextId, p, 'joined')
        fetched += r.fetched
        method = r.method
        break
      } catch {
        // try the next peer; background sync repairs the rest
      }
    }
    return { contextId: b58, groupId, fetched, method }
  }

  status(contextId: Buffer): ContextSyncStatus {
    const k = hex(contextId)
    const meta = this.d.contexts.get(contextId)
    return {
      syncing: this.running.has(k),
      peers: meta ? this.d.network.topicPeers(contextTopic(meta.contextId)).length : 0,
      pendingDeltas: this.d.remote.pendingCount(contextId),
      failures: this.failures.get(k) ?? 0,
      ...(this.last.get(k) ? { lastSync: this.last.get(k) } : {}),
      ...(this.lastFetch.get(k) ? { lastFetch: this.lastFetch.get(k) } : {}),
    }
  }
}
