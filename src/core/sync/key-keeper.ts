import type { ContextManager, ContextMeta } from '../context/context-manager.js'
import type { KeyPair } from '../crypto/ed25519.js'
import { mayRead, membersOf } from '../governance/access.js'
import type { GroupStore } from '../governance/group-store.js'
import { GROUP_SCOPE, scopeKey } from '../governance/rotation.js'
import { fromBase58 } from '../primitives/encoding.js'
import { idKey } from '../primitives/ids.js'
import type { Startable } from '../primitives/lifecycle.js'
import type { ContextReplicator } from './context-replicator.js'
import type { GroupReplicator } from './group-replicator.js'

/**
 * Keeps this node's keys current (DESIGN §6), for its groups and the contexts it holds:
 *
 * - A key it lacks at its position (added to a group again, or concurrently with a rotation, so
 *   that no envelope held it): fetched from a member over the authenticated sync stream (a group
 *   or context catch-up session asks for it).
 * - A stale scope (someone lost reading and no rotation followed: a member left, or an op of a
 *   version 1 group removed someone): rotated by a KeyRotated op. Every member that holds the
 *   scope may; to spare the group a rotation per member, each waits its rank among the members
 *   (admins first, by identity) times a second, then rotates what is still stale.
 * - Reading lost through a merge of concurrent branches rather than by one op (a member whose
 *   claim lost to a concurrent one past the invitation's uses, a member removed concurrently with
 *   being let into a context): when someone who may no longer read held the current epoch (a
 *   recipient of its rotation, or a reader since it began), the scope is rotated the same way.
 *   This one is a node's own judgement, not a rule of the fold: it only ever adds a rotation.
 * - The context topics it follows: those it may read (it stops following one it was taken off,
 *   and follows again, and catches up, when let back in).
 */
export interface KeyKeeperDeps {
  groups: GroupStore
  contexts: ContextManager
  identity: KeyPair
  groupReplicator: GroupReplicator
  contextReplicator: ContextReplicator
}

/** Each member waits its rank times this before it rotates a stale scope. */
export const ROTATION_STAGGER_MS = 1000
const MAX_RANK = 8
/** A key still missing is asked for again after this. */
const FETCH_AGAIN_MS = 2000
const RECHECK_MS = 5000
/** A group is checked at most this often (the first op after a quiet spell at once). */
const CHECK_EVERY_MS = 50

interface ScopeSeen {
  readers: Set<string>
  frontier: string
}

export class KeyKeeper implements Startable {
  private readonly queued = new Set<string>()
  /** Per group: when it was last checked (performance.now()). */
  private readonly lastCheck = new Map<string, number>()
  /** Per group: the scopes to rotate, each with its frontier when it was found wanting (a rotation since settles it). */
  private readonly pendingRotations = new Map<string, { timer: NodeJS.Timeout; scopes: Map<string, string> }>()
  private readonly seen = new Map<string, ScopeSeen>()
  private readonly reads = new Map<string, boolean>()
  private readonly asked = new Map<string, number>()
  private offs: (() => void)[] = []
  private timer?: NodeJS.Timeout
  private stopped = false
  private readonly me: string
  /** KeyRotated ops this node issued, and those that failed; keys asked for; groups checked. */
  readonly stats = { rotations: 0, rotationFailures: 0, keyRequests: 0, checks: 0 }

  constructor(private readonly d: KeyKeeperDeps) {
    this.me = d.identity.publicKey.toString('hex')
  }

  start(): void {
    const ev = this.d.groups.events
    this.offs = [
      ev.on('op.applied', (e) => this.queue(e.groupId)),
      ev.on('keys.stored', (e) => this.queue(e.groupId)),
      ev.on('key.rejected', (e) => this.queue(e.groupId)),
    ]
    this.d.contextReplicator.noKey = (meta) => this.queue(meta.groupId)
    for (const g of this.d.groups.groupIds()) this.queue(g)
    this.timer = setInterval(() => {
      for (const g of this.d.groups.groupIds()) this.queue(g)
    }, RECHECK_MS)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
    for (const off of this.offs.splice(0)) off()
    for (const r of this.pendingRotations.values()) clearTimeout(r.timer)
    this.pendingRotations.clear()
  }

  /**
   * Checks a group at the end of this turn (once, whatever asked), and at most once every
   * CHECK_EVERY_MS: a check reads every member's access, so a burst of ops (a batch of
   * add-members, a catch-up) is checked a few times, not once per op.
   */
  queue(groupId: Buffer): void {
    const key = idKey(groupId)
    if (this.stopped || this.queued.has(key)) return
    this.queued.add(key)
    const run = (): void => {
      this.queued.delete(key)
      if (this.stopped) return
      this.lastCheck.set(key, performance.now())
      this.check(groupId)
    }
    const wait = (this.lastCheck.get(key) ?? -Infinity) + CHECK_EVERY_MS - performance.now()
    if (wait <= 0) setImmediate(run)
    else setTimeout(run, wait).unref()
  }

  private check(groupId: Buffer): void {
    this.stats.checks++
    if (!this.d.groups.has(groupId)) return
    const now = this.d.groups.state(groupId).now()
    if (now.get('deleted') === true) return
    const rotate = new Set<string>()
    const scopes: string[] = []
    if (now.role(this.me)) scopes.push(GROUP_SCOPE)
    for (const meta of this.d.contexts.list(groupId)) {
      const scope = scopeKey({ contextId: meta.contextId })
      const reads = mayRead(now, this.me, scope)
      const before = this.reads.get(scope)
      this.reads.set(scope, reads)
      if (!reads) {
        this.d.contextReplicator.unfollow(meta.contextId)
        continue
      }
      this.d.contextReplicator.follow(meta)
      // let back in: catch up what was written meanwhile
      if (before === false) this.syncContext(meta, 'read access given back')
      scopes.push(scope)
    }
    for (const scope of scopes) {
      const key = this.d.groups.keyAt(groupId, scope)
      if (key.status === 'stale') rotate.add(scope)
      else if (key.status === 'missing') this.fetch(groupId, scope)
      if (this.lostThroughMerge(groupId, scope, now)) rotate.add(scope)
    }
    if (rotate.size) this.scheduleRotation(groupId, rotate)
  }

  /**
   * Whether someone stopped reading a scope since the last check while it may hold the current
   * epoch's key: the epoch did not change since it last read, or its rotation gave it the key.
   */
  private lostThroughMerge(groupId: Buffer, scope: string, now: ReturnType<GroupStore['state']>['now'] extends () => infer V ? V : never): boolean {
    const epoch = this.d.groups.epochAt(groupId, scope)
    if (!epoch) return false
    const readers = new Set(membersOf(now).filter((m) => mayRead(now, m, scope)))
    const frontier = epoch.frontier.map((f) => f.idHex).join(',')
    const k = `${idKey(groupId)}|${scope}`
    const before = this.seen.get(k)
    this.seen.set(k, { readers, frontier })
    if (!before) return false
    for (const x of before.readers) {
      if (readers.has(x)) continue
      if (before.frontier === frontier || epoch.frontier.some((f) => f.recipients.includes(x))) return true
    }
    return false
  }

  private fetch(groupId: Buffer, scope: string): void {
    const k = `${idKey(groupId)}|${scope}`
    const last = this.asked.get(k) ?? 0
    if (Date.now() - last < FETCH_AGAIN_MS) return
    this.asked.set(k, Date.now())
    this.stats.keyRequests++
    if (scope === GROUP_SCOPE) {
      // a catch-up session asks for the topic's key when this node lacks it
      for (const p of this.d.groupReplicator.memberPeers(groupId).slice(0, 3)) this.d.groupReplicator.schedule(groupId, p, 'the topic key is missing here', 50)
      return
    }
    const meta = this.d.contexts.get(Buffer.from(scope, 'hex'))
    if (meta) this.syncContext(meta, "the context's key is missing here")
  }

  private syncContext(meta: ContextMeta, reason: string): void {
    for (const p of this.d.contextReplicator.candidates(meta).slice(0, 3)) this.d.contextReplicator.schedule(meta.contextId, p, reason, 50)
  }

  private frontierOf(groupId: Buffer, scope: string): string {
    return (this.d.groups.epochAt(groupId, scope)?.frontier ?? []).map((f) => f.idHex).join(',')
  }

  private scheduleRotation(groupId: Buffer, scopes: Set<string>): void {
    const pending = this.pendingRotations.get(idKey(groupId))
    if (pending) {
      for (const s of scopes) if (!pending.scopes.has(s)) pending.scopes.set(s, this.frontierOf(groupId, s))
      return
    }
    const now = this.d.groups.state(groupId).now()
    const order = membersOf(now).sort((a, b) => (now.role(a) === 'admin') === (now.role(b) === 'admin') ? (a < b ? -1 : 1) : now.role(a) === 'admin' ? -1 : 1)
    const rank = Math.min(Math.max(0, order.indexOf(this.me)), MAX_RANK)
    const entry = { scopes: new Map([...scopes].map((s) => [s, this.frontierOf(groupId, s)])), timer: setTimeout(() => void this.rotate(groupId), 50 + rank * ROTATION_STAGGER_MS) }
    entry.timer.unref()
    this.pendingRotations.set(idKey(groupId), entry)
  }

  private async rotate(groupId: Buffer): Promise<void> {
    const entry = this.pendingRotations.get(idKey(groupId))
    this.pendingRotations.delete(idKey(groupId))
    if (!entry || this.stopped || !this.d.groups.has(groupId)) return
    const now = this.d.groups.state(groupId).now()
    // another member may have rotated meanwhile: what is still stale, or has had no rotation since
    const scopes = [...entry.scopes].filter(([s, frontier]) => mayRead(now, this.me, s) && (this.d.groups.keyAt(groupId, s).status === 'stale' || this.frontierOf(groupId, s) === frontier)).map(([s]) => s)
    if (!scopes.length) return
    try {
      await this.d.groupReplicator.issue(groupId, { kind: 'KeyRotated' }, { rotate: scopes })
      this.stats.rotations++
    } catch {
      this.stats.rotationFailures++
    }
  }
}
