import type { KeyPair } from '../crypto/ed25519.js'
import type { VerifierPool } from '../crypto/verifier-pool.js'
import type { GroupStore, IssueOptions } from '../governance/group-store.js'
import { decodeToken } from '../governance/invitation.js'
import { decodeSignedOp, groupOf, type GroupOp, type SignedInvitation, type SignedOp } from '../governance/ops.js'
import { GROUP_SCOPE } from '../governance/rotation.js'
import { MeroError } from '../primitives/errors.js'
import { idKey, idOfKey, peerIdFromPublicKey } from '../primitives/ids.js'
import type { OpIssuer } from '../governance/issuer.js'
import { invitationAuth, memberAuth } from '../governance/stream-auth.js'
import type { FrameChannel, PeerNetwork, TopicMessageEvent } from '../network/transport.js'
import type { Emitter } from '../primitives/emitter.js'
import type { ReplicationEvents } from './events.js'
import { announceHeads, catchUpGroup, peerLacks, serveGroupSync, type CatchUpResult } from './group-sync.js'
import { SessionScheduler } from './session-scheduler.js'
import { openGroupMessage, sealGroupMessage } from './sealed-topics.js'
import { decodeTopicMessage, encodeTopicMessage, groupTopic, MAX_HEARTBEAT_HEADS, MAX_TOPIC_MESSAGE, SYNC_PROTOCOL, type GroupPlain } from './wire.js'

/**
 * Seed 001's governance data flow across nodes: sign and apply locally, gossip on the group
 * topic, verify and ingest remotely, catch up through heartbeats and the sync stream.
 *
 * - Every locally authored op is published on `mero/group/<hex>`, sealed under the topic key of
 *   the op's own cut (so a removal is still readable by the member it removes, and what follows
 *   it is not). When that key is stale (a member left and nobody rotated yet) or missing here,
 *   the op is not gossiped: this node tells the members it is connected to over the sync stream
 *   (Announce), and they pull it.
 * - A received message is size-checked, opened with the key it names, decoded, verified, matched
 *   to its topic and ingested; when its parents are missing, a catch-up from the sender is
 *   scheduled. A message under a key this node lacks schedules a catch-up (which brings the
 *   rotation, and the key when no envelope held it for this node).
 * - Heartbeats carry each group's heads, sealed likewise; an unknown head schedules a catch-up.
 * - Catch-ups are debounced per group, bounded in number, retried with backoff.
 * - A node leaves a group's topic when its identity is no longer a member, and follows it again
 *   when a member adds it back: the adder tells it (Announce), and a peer that connects is asked.
 */
export interface ReplicatorOptions {
  heartbeatMs: number
  maxConcurrentSyncs?: number
  syncTimeoutMs?: number
  pool?: VerifierPool
}

export type DropReason = 'malformed' | 'oversized' | 'bad_signature' | 'wrong_topic' | 'invalid_op' | 'unknown_group' | 'unknown_key' | 'undecryptable' | 'wrong_key'

const GROUP_TOPIC_PREFIX = 'mero/group/'

/** A group topic message, checked: decoded and verified, or why it is not delivered. */
type Inspected =
  | { verdict: 'accept'; kind: 'op'; groupId: Buffer; op: SignedOp }
  | { verdict: 'accept'; kind: 'heartbeat'; groupId: Buffer; heads: Buffer[] }
  | { verdict: 'reject' | 'ignore'; reason: DropReason }

const JOIN_ATTEMPTS = 3
/** Failures of the transport, not answers of the inviter: worth another try. */
const RETRIED_KINDS: ReadonlySet<string> = new Set(['PeerUnreachable', 'Timeout', 'Unavailable'])

export class GroupReplicator implements OpIssuer {
  private heartbeat?: NodeJS.Timeout
  /** The groups followed, by idKey. */
  private readonly subscribed = new Set<string>()
  /** Catch-up sessions, per group (by idKey). */
  private readonly sessions: SessionScheduler<CatchUpResult>
  private offMessages?: () => void
  private offEvents: (() => void)[] = []
  private offValidator?: () => void
  /** Messages the validation hook accepted, decoded, until their delivery (keyed by their bytes). */
  private readonly checked = new WeakMap<Uint8Array, Inspected>()
  private stopped = false
  readonly dropped: Record<DropReason, number> = { malformed: 0, oversized: 0, bad_signature: 0, wrong_topic: 0, invalid_op: 0, unknown_group: 0, unknown_key: 0, undecryptable: 0, wrong_key: 0 }
  /** Ops that could not be gossiped (no usable topic key) and were announced to members instead. */
  announced = 0
  received = 0

  constructor(
    private readonly groups: GroupStore,
    private readonly identity: KeyPair,
    private readonly network: PeerNetwork,
    private readonly opts: ReplicatorOptions,
  ) {
    this.sessions = new SessionScheduler({ scope: 'group', maxConcurrent: opts.maxConcurrentSyncs ?? 8, run: (key, peerId) => this.session(idOfKey(key), peerId) })
  }

  /** Sync sessions started and finished, and refused gossip. */
  get events(): Emitter<ReplicationEvents> {
    return this.sessions.events
  }

  start(): void {
    this.offMessages = this.network.onMessage((m) => this.onMessage(m))
    // where the network has a validation hook, messages are checked before gossipsub forwards them
    this.offValidator = this.network.setTopicValidator?.(GROUP_TOPIC_PREFIX, (m) => this.validate(m))
    for (const g of this.groups.groupIds()) this.follow(g)
    this.offEvents = [
      this.groups.events.on('member.removed', (e) => {
        if (e.identity.equals(this.identity.publicKey)) this.unfollow(e.groupId)
      }),
      this.groups.events.on('group.deleted', (e) => this.unfollow(e.groupId)),
    ]
    this.heartbeat = setInterval(() => void this.beat(), this.opts.heartbeatMs)
    this.heartbeat.unref()
  }

  /** Serves one inbound group sync stream (the SyncServer routes Hello here). */
  serve(channel: FrameChannel, peerId: string): void {
    const onAnnounce = (groupId: Buffer, heads: Buffer[]) => {
      if (heads.some((h) => !this.groups.knows(groupId, h))) this.schedule(groupId, peerId, 'announced', 0)
    }
    void serveGroupSync(channel, this.groups, { self: this.network.peerId, timeoutMs: this.opts.syncTimeoutMs, onAnnounce }).catch(() => undefined)
  }

  stop(): void {
    this.stopped = true
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.sessions.stop()
    this.offMessages?.()
    this.offValidator?.()
    for (const off of this.offEvents.splice(0)) off()
  }

  /** Subscribes to a group's topic while this node's identity is a member of it. */
  follow(groupId: Buffer): void {
    const key = idKey(groupId)
    if (this.subscribed.has(key) || !this.groups.isMember(groupId, this.identity.publicKey) || this.groups.deleted(groupId)) return
    this.subscribed.add(key)
    this.network.subscribe(groupTopic(key))
  }

  private unfollow(groupId: Buffer): void {
    const key = idKey(groupId)
    if (!this.subscribed.delete(key)) return
    this.network.unsubscribe(groupTopic(key))
  }

  /** Signs, applies and publishes an op of this node (sign_apply_and_publish). */
  async issue(groupId: Buffer, op: GroupOp, opts: IssueOptions = {}): Promise<SignedOp> {
    // published while it is written (GroupStore.issueWriteBehind); answered once both are done
    const { op: signed, persisted } = this.groups.issueWriteBehind(groupId, this.identity, op, opts)
    await Promise.all([this.publish(groupId, signed), persisted])
    // a member added again (its node stopped following when it was removed) is told directly,
    // when connected: one that is not is not dialled (a batch of new members, most of them
    // offline, would start a dial and a peer lookup each); it asks on connecting (peerConnected)
    if (op.kind === 'MemberAdded' && !op.member.equals(this.identity.publicKey)) {
      const peer = peerIdFromPublicKey(op.member)
      if (this.network.connectedPeers().includes(peer)) void this.announceTo(groupId, [peer])
    }
    return signed
  }

  /**
   * Gossips an op sealed under the topic key of its cut; without a usable key (stale, or not
   * held here), or too large for a message, announces it to the members this node is connected
   * to, who pull it over the sync stream.
   */
  async publish(groupId: Buffer, op: SignedOp): Promise<void> {
    this.follow(groupId)
    const key = this.groups.keyAt(groupId, GROUP_SCOPE, op.parents)
    const msg = key.status === 'ok' ? encodeTopicMessage(sealGroupMessage(groupId, key, { type: 'GroupOp', op: op.bytes })) : undefined
    if (msg && msg.length <= MAX_TOPIC_MESSAGE) {
      await this.network.publish(groupTopic(idKey(groupId)), msg).catch(() => undefined)
      return
    }
    this.announced++
    await this.announceTo(groupId, this.memberPeers(groupId))
  }

  /** Connected peers whose identities are members of the group (the node's identity is its peer id). */
  memberPeers(groupId: Buffer): string[] {
    const connected = new Set(this.network.connectedPeers())
    return this.groups
      .view(groupId)
      .members.map((m) => peerIdFromPublicKey(m.identity))
      .filter((p) => p !== this.network.peerId && connected.has(p))
  }

  /** Tells peers which heads this node holds (they pull what they lack); best effort. */
  private async announceTo(groupId: Buffer, peers: string[]): Promise<void> {
    await Promise.all(
      peers.map((p) =>
        this.network
          .open(p, SYNC_PROTOCOL)
          .then((ch) => announceHeads(ch, this.groups, groupId, memberAuth(this.identity, p), this.opts.syncTimeoutMs))
          .catch(() => undefined),
      ),
    )
  }

  /**
   * Gossipsub's validation hook for group topics: decodes and verifies the message before it is
   * delivered or forwarded, so that peers never relay garbage, forgeries or ops of another
   * group (the sender is reported to the router). What passes is handed to onMessage decoded,
   * so the signature is checked once.
   */
  private validate(m: TopicMessageEvent): 'accept' | 'reject' | 'ignore' {
    const r = this.inspect(m)
    if (r.verdict === 'accept') this.checked.set(m.data, r)
    else this.reportRejected(m, r)
    return r.verdict
  }

  /** The sender of a message refused as its fault is reported (the operator's log summarises them). */
  private reportRejected(m: TopicMessageEvent, r: Inspected): void {
    if (r.verdict === 'reject' && this.events.listens('message.rejected')) this.events.emit('message.rejected', { scope: 'group', peerId: m.from, reason: r.reason })
  }

  private onMessage(m: TopicMessageEvent): void {
    if (!m.topic.startsWith(GROUP_TOPIC_PREFIX)) return
    let r = this.checked.get(m.data)
    if (r) this.checked.delete(m.data)
    else this.reportRejected(m, (r = this.inspect(m)))
    if (r.verdict !== 'accept') return
    const { groupId } = r
    if (r.kind === 'heartbeat') {
      if (r.heads.some((h) => !this.groups.knows(groupId, h))) this.schedule(groupId, m.from, 'heartbeat')
      return
    }
    const [res] = this.groups.ingestVerifiedOps([r.op])
    if (res!.status === 'pending') this.schedule(groupId, m.from, 'missing parents')
    // a node learns it was added to a group it already holds: follow it
    if (res!.status === 'applied') this.follow(groupId)
  }

  /**
   * Opens and checks a group topic message (size, shape, key, signature, topic, group held);
   * counts drops. A message under a key this node lacks is ignored (not the sender's fault) and a
   * catch-up from the sender is scheduled, which brings the rotation (and the key, when no
   * envelope carried it here).
   */
  private inspect(m: TopicMessageEvent): Inspected {
    this.received++
    const topicGroup = m.topic.slice(GROUP_TOPIC_PREFIX.length)
    let msg
    try {
      msg = decodeTopicMessage(m.data)
    } catch (e) {
      return this.drop(/exceeds/.test((e as Error).message) ? 'oversized' : 'malformed')
    }
    if (msg.type !== 'GroupSealed') return this.drop('wrong_topic') // a context message on a group topic
    const groupId = msg.groupId
    const key = idKey(groupId)
    if (key !== topicGroup) return this.drop('wrong_topic')
    if (!this.groups.has(groupId)) return this.drop('unknown_group')
    const held = this.groups.keys?.byKeyId(msg.keyId)
    if (!held || held.groupId !== key || held.scope !== GROUP_SCOPE) {
      this.dropped.unknown_key++
      if (!this.stopped && this.subscribed.has(key)) this.schedule(groupId, m.from, 'a key this node lacks', 100)
      return { verdict: 'ignore', reason: 'unknown_key' }
    }
    let plain: GroupPlain
    try {
      plain = openGroupMessage(msg, held.key)
    } catch {
      return this.drop('undecryptable')
    }
    if (plain.type === 'GroupHeartbeat') return { verdict: 'accept', kind: 'heartbeat', groupId, heads: plain.heads }
    let op: SignedOp
    try {
      op = decodeSignedOp(plain.op)
    } catch (e) {
      return this.drop((e as MeroError).kind === 'InvalidSignature' ? 'bad_signature' : 'invalid_op')
    }
    if (!groupOf(op).equals(groupId)) return this.drop('wrong_topic')
    // an op is sealed under the key of its own cut: a retired key only for cuts before its retirement
    const atCut = this.groups.keyAt(groupId, GROUP_SCOPE, op.parents)
    if (atCut.status === 'ok' && !atCut.keyId.equals(msg.keyId)) return this.drop('wrong_key')
    return { verdict: 'accept', kind: 'op', groupId, op }
  }

  /** Counts a drop; a group this node does not hold is ignored, anything else is the sender's fault. */
  private drop(reason: DropReason): Inspected {
    this.dropped[reason]++
    return { verdict: reason === 'unknown_group' ? 'ignore' : 'reject', reason }
  }

  /** Each followed group's heads, sealed under the topic key of those heads (none while it is stale or missing here). */
  private async beat(): Promise<void> {
    for (const followed of this.subscribed) {
      const groupId = idOfKey(followed)
      const key = this.groups.keyAt(groupId, GROUP_SCOPE)
      if (key.status !== 'ok') continue
      const heads = this.groups.heads(groupId).slice(0, MAX_HEARTBEAT_HEADS)
      const msg = sealGroupMessage(groupId, key, { type: 'GroupHeartbeat', heads, opCount: this.groups.opCount(groupId) })
      await this.network.publish(groupTopic(followed), encodeTopicMessage(msg)).catch(() => undefined)
      // a member's node that is connected but not on the topic (its identity was removed and
      // added back, or it missed the op that admitted it) is told the heads directly: it pulls
      // them, sees it is a member and follows again, with no `group sync`
      const onTopic = new Set(this.network.topicPeers(groupTopic(followed)))
      const strays = this.memberPeers(groupId).filter((p) => !onTopic.has(p))
      if (strays.length) await this.announceTo(groupId, strays)
    }
  }

  /** Debounced, bounded catch-up of a group from a peer (see SessionScheduler). */
  schedule(groupId: Buffer, peerId: string, reason: string, delayMs = 20): void {
    this.sessions.schedule(idKey(groupId), peerId, reason, delayMs)
  }

  /** Catches a group up from one peer now, after the session of the group already running, if any. */
  catchUp(groupId: Buffer, peerId: string, reason: string): Promise<CatchUpResult> {
    return this.sessions.catchUp(idKey(groupId), peerId, reason)
  }

  private async session(groupId: Buffer, peerId: string): Promise<CatchUpResult> {
    const channel = await this.network.open(peerId, SYNC_PROTOCOL)
    const r = await catchUpGroup(channel, this.groups, groupId, memberAuth(this.identity, peerId), { pool: this.opts.pool, timeoutMs: this.opts.syncTimeoutMs })
    this.follow(groupId)
    return r
  }

  /**
   * A peer connected: compare every followed group with it now, without waiting for gossip; and
   * ask it about the groups this node holds but no longer follows (its identity was removed): a
   * member that added it back serves it again.
   */
  peerConnected(peerId: string): void {
    for (const followed of this.subscribed) this.sessions.schedule(followed, peerId, 'peer connected', 100)
    for (const groupId of this.groups.groupIds()) {
      if (!this.subscribed.has(idKey(groupId)) && !this.groups.deleted(groupId)) this.schedule(groupId, peerId, 'peer connected (not a member here)', 500)
    }
  }

  /** Syncs a group now from every connected peer subscribed to it (SyncGroup). */
  syncNow(groupId: Buffer): Promise<{ peers: number; fetched: number; errors: string[] }> {
    const key = idKey(groupId)
    const peers = this.network.topicPeers(groupTopic(key))
    return this.sessions.syncNow(key, peers.length ? peers : this.network.connectedPeers())
  }

  /**
   * JoinGroup: dial the inviter from the token, fetch and verify the group's history presenting
   * the invitation, then author and publish the claim.
   */
  async join(token: string): Promise<{ groupId: Buffer; opId: Buffer; fetched: number }> {
    const { invitation, hints } = decodeToken(token)
    if (Number(invitation.expiresAt) < Date.now()) throw new MeroError('InvitationExpired', `the invitation expired at ${new Date(Number(invitation.expiresAt)).toISOString()}`)
    const groupId = invitation.groupId
    if (this.groups.isMember(groupId, this.identity.publicKey)) throw new MeroError('Conflict', `this node's identity is already a member of ${idKey(groupId)}`)
    if (!hints.peerId) throw new MeroError('InvitationInvalid', "the token does not name the inviter's peer; ask for a new one")
    const r = await this.historyFromInviter(hints.peerId, hints.addresses, groupId, invitation)
    if (!this.groups.has(groupId)) throw new MeroError('SyncFailed', 'the inviter sent no history of the group')
    const claim = this.groups.issue(groupId, this.identity, { kind: 'InvitationClaimed', invitation, joinedAt: BigInt(Date.now()) })
    this.follow(groupId)
    await this.publish(groupId, claim)
    // gossip meshes take a moment to form: tell the inviter directly, so it pulls the claim now
    // (best effort: the claim also travels by gossip and heartbeats)
    await this.network
      .open(hints.peerId, SYNC_PROTOCOL, hints.addresses)
      .then((back) => announceHeads(back, this.groups, groupId, invitationAuth(this.identity, invitation, hints.peerId!), this.opts.syncTimeoutMs))
      .catch(() => undefined)
    return { groupId, opId: claim.id, fetched: r.fetched }
  }

  /**
   * The group's history from the inviter, retried a few times when the exchange breaks (a stream
   * closed under us, e.g. while two connections between the peers were being deduplicated);
   * refusals, and an inviter that cannot be dialled, are final. Ingesting the same ops again is a no-op, so a retry after a partial
   * transfer is safe.
   */
  private async historyFromInviter(peerId: string, addresses: string[], groupId: Buffer, invitation: SignedInvitation): Promise<CatchUpResult> {
    const where = `the inviter ${peerId} at ${addresses.join(', ') || '(no address)'}`
    let last: Error | undefined
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt))
      let channel: FrameChannel
      try {
        channel = await this.network.open(peerId, SYNC_PROTOCOL, addresses)
      } catch (e) {
        // an inviter that cannot be dialled at all is said at once, not after every retry
        if (attempt === 0) throw new MeroError('PeerUnreachable', `cannot reach ${where}: ${(e as Error).message}`)
        last = e as Error
        continue
      }
      try {
        // the history, and the topic's key (the claim is sealed under it)
        return await catchUpGroup(channel, this.groups, groupId, invitationAuth(this.identity, invitation, peerId), { pool: this.opts.pool, timeoutMs: this.opts.syncTimeoutMs, keys: 'always' })
      } catch (e) {
        if (peerLacks(e)) throw new MeroError('GroupNotFound', `${where} does not hold the group (it left it, or the group was deleted there); ask a member for a new invitation`)
        if (e instanceof MeroError && !RETRIED_KINDS.has(e.kind)) throw e
        last = e as Error
      }
    }
    throw new MeroError('PeerUnreachable', `cannot fetch the group's history from ${where}: ${last?.message}`)
  }
}
