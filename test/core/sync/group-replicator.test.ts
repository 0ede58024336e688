import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair, type KeyPair } from '../../../src/core/crypto/ed25519.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { KeyRing } from '../../../src/core/governance/keyring.js'
import { GROUP_SCOPE } from '../../../src/core/governance/rotation.js'
import { peerIdFromPublicKey } from '../../../src/core/primitives/ids.js'
import { sealGroupMessage } from '../../../src/core/sync/sealed-topics.js'
import { createInvitation, encodeToken } from '../../../src/core/governance/invitation.js'
import { signOp } from '../../../src/core/governance/ops.js'
import { EventBus } from '../../../src/core/node/event-bus.js'
import { relayEvents } from '../../../src/core/node/relay.js'
import { toBase58 } from '../../../src/core/primitives/encoding.js'
import { GroupReplicator } from '../../../src/core/sync/group-replicator.js'
import { SyncServer } from '../../../src/core/sync/sync-server.js'
import { decodeTopicMessage, encodeTopicMessage, groupTopic } from '../../../src/core/sync/wire.js'
import type { TopicMessageEvent } from '../../../src/core/network/transport.js'
import { MemoryHub, MemoryPeer } from '../../helpers/memory-network.js'
import { waitFor } from '../../helpers/harness.js'
import { holdFirst } from '../../helpers/intercept.js'
import { viewOf } from '../governance/helpers.js'

interface Replica {
  key: KeyPair
  events: EventBus
  groups: GroupStore
  net: MemoryPeer
  rep: GroupReplicator
}

describe('group replication between in-process replicas', () => {
  const started: GroupReplicator[] = []
  afterEach(() => {
    vi.useRealTimers()
    for (const r of started.splice(0)) r.stop()
  })

  /** A replica whose peer id is its identity's, as a node's is (`name` only tells them apart here). */
  function replica(hub: MemoryHub, _name: string, heartbeatMs = 100, maxConcurrentSyncs?: number): Replica {
    const key = generateKeyPair()
    const events = new EventBus()
    const groups = new GroupStore(undefined, new KeyRing(key))
    const net = hub.peer(peerIdFromPublicKey(key.publicKey))
    const rep = new GroupReplicator(groups, key, net, { heartbeatMs, syncTimeoutMs: 2_000, maxConcurrentSyncs })
    relayEvents(events, { governance: groups.events, replication: [rep.events] })
    new SyncServer(net, { group: (channel, peerId) => rep.serve(channel, peerId) }).start()
    rep.start()
    started.push(rep)
    return { key, events, groups, net, rep }
  }

  async function trio() {
    const hub = new MemoryHub()
    const [a, b, c] = [replica(hub, 'A'), replica(hub, 'B'), replica(hub, 'C')]
    const { groupId } = a.groups.createGroup(a.key)
    a.rep.follow(groupId)
    for (const x of [b, c]) {
      const inv = createInvitation(a.key, groupId, 'admin', Date.now() + 60_000)
      await x.rep.join(encodeToken(inv, { peerId: a.net.peerId, addresses: [] }))
    }
    const same = () => new Set([a, b, c].map((x) => (x.groups.has(groupId) ? viewOf(x.groups, groupId).stateHash : x.net.peerId))).size === 1
    await waitFor(same, 3_000)
    return { hub, a, b, c, groupId, same }
  }

  it('two nodes join by invitation; all three converge on the same members', async () => {
    const { a, b, c, groupId } = await trio()
    const members = viewOf(a.groups, groupId).members.map((m) => m.identity).sort()
    expect(members).toEqual([a, b, c].map((x) => toBase58(x.key.publicKey)).sort())
    expect(viewOf(b.groups, groupId).members.map((m) => m.identity).sort()).toEqual(members)
  })

  it('concurrent conflicting admin ops converge on every node', async () => {
    const { a, b, c, groupId, same } = await trio()
    const d = generateKeyPair().publicKey
    const before = a.groups.heads(groupId).map((h) => h.toString('hex'))
    const ops = await Promise.all([
      a.rep.issue(groupId, { kind: 'MemberAdded', member: d, role: 'member' }),
      b.rep.issue(groupId, { kind: 'MemberRemoved', member: c.key.publicKey }),
      c.rep.issue(groupId, { kind: 'RoleSet', member: b.key.publicKey, role: 'member' }),
    ])
    // concurrent: each was authored on the same heads, before any of the others arrived
    for (const op of ops) expect(op.parents.map((p) => p.toString('hex')).sort()).toEqual([...before].sort())
    await waitFor(same, 3_000)
    for (const x of [a, b, c]) {
      expect(x.groups.heads(groupId).map((h) => h.toString('hex')).sort()).toEqual(ops.map((o) => o.id.toString('hex')).sort())
      // each op was valid at its own cut, where its signer was an admin: all three apply
      expect(x.groups.ops(groupId).filter((o) => ops.some((op) => op.id.equals(o.opId))).map((o) => o.status)).toEqual(['applied', 'applied', 'applied'])
      expect(Object.fromEntries(viewOf(x.groups, groupId).members.map((m) => [m.identity, m.role]))).toEqual({ [toBase58(a.key.publicKey)]: 'admin', [toBase58(b.key.publicKey)]: 'member', [toBase58(d)]: 'member' })
    }
  })

  it('a node offline while 300 ops are authored catches up on its return', async () => {
    const { a, b, c, groupId, same } = await trio()
    c.net.online = false
    for (let i = 0; i < 150; i++) {
      await a.rep.issue(groupId, { kind: 'GroupAliasSet', alias: `a${i}` })
      await b.rep.issue(groupId, { kind: 'MemberAliasSet', member: b.key.publicKey, alias: `b${i}` })
    }
    await waitFor(() => viewOf(a.groups, groupId).stateHash === viewOf(b.groups, groupId).stateHash, 3_000)
    c.net.online = true
    await waitFor(same, 3_000) // heartbeats reveal the gap
    expect(viewOf(c.groups, groupId).opCount).toBe(viewOf(a.groups, groupId).opCount)
  })

  it('join retries when the stream to the inviter breaks mid-exchange; an inviter it cannot dial is reported at once', async () => {
    const hub = new MemoryHub()
    const [a, b, c] = [replica(hub, 'A'), replica(hub, 'B'), replica(hub, 'C')]
    const { groupId } = a.groups.createGroup(a.key)
    a.rep.follow(groupId)
    // B's first stream dies under it, as when libp2p closes one of two connections between peers
    const open = b.net.open.bind(b.net)
    let opened = 0
    b.net.open = async (peerId, protocol) => {
      const ch = await open(peerId, protocol)
      if (opened++ > 0) return ch
      ch.close()
      return { ...ch, send: () => Promise.reject(new Error('Cannot write to a stream that is closed')), receive: ch.receive.bind(ch), close: () => ch.close() }
    }
    const inv = createInvitation(a.key, groupId, 'member', Date.now() + 60_000)
    const joined = await b.rep.join(encodeToken(inv, { peerId: a.net.peerId, addresses: [] }))
    expect(joined.groupId).toEqual(groupId)
    expect(opened).toBeGreaterThanOrEqual(2)
    await waitFor(() => viewOf(a.groups, groupId).members.some((m) => m.identity === toBase58(b.key.publicKey)), 3_000)

    a.net.online = false
    const dial = c.net.open.bind(c.net)
    let dials = 0
    c.net.open = (peerId, protocol) => (dials++, dial(peerId, protocol))
    const other = createInvitation(a.key, groupId, 'member', Date.now() + 60_000)
    await expect(c.rep.join(encodeToken(other, { peerId: a.net.peerId, addresses: [] }))).rejects.toMatchObject({ kind: 'PeerUnreachable', message: expect.stringMatching(new RegExp(`cannot reach the inviter ${a.net.peerId}`)) })
    expect(dials).toBe(1) // no retries with back-off for a dial that fails
  })

  it('a removed member cannot get further ops accepted, and a stranger is refused the ops', async () => {
    const { a, b, c, groupId } = await trio()
    await a.rep.issue(groupId, { kind: 'MemberRemoved', member: c.key.publicKey })
    await waitFor(() => !c.groups.isMember(groupId, c.key.publicKey), 3_000)
    // c authors on its own state anyway (skipping the local check) and publishes
    const heads = c.groups.heads(groupId)
    const late = signOp({ groupId: groupId, parents: heads, seq: 99n, op: { kind: 'GroupAliasSet', alias: 'mine' } }, c.key)
    // on the topic, sealed under the only key C holds: not the key of the op's cut (the removal rotated it)
    const oldKey = c.groups.keyAt(groupId, GROUP_SCOPE, [c.groups.ops(groupId)[0]!.opId])
    if (oldKey.status !== 'ok') throw new Error('C holds the first epoch')
    expect(c.groups.keyAt(groupId, GROUP_SCOPE).status).toBe('missing')
    for (const x of [a, b]) x.net.deliver({ topic: groupTopic(groupId.toString('hex')), from: 'C', data: encodeTopicMessage(sealGroupMessage(groupId, oldKey, { type: 'GroupOp', op: late.bytes })) })
    for (const x of [a, b]) expect(x.rep.dropped.wrong_key).toBe(1)
    expect(a.groups.knows(groupId, late.id)).toBe(false)
    // handed over directly, it is stored and rejected by the fold
    for (const x of [a, b]) expect(x.groups.ingest([late.bytes])[0]).toMatchObject({ status: 'rejected', reason: 'signer is not a member of the group' })
    expect(viewOf(a.groups, groupId).alias).toBeNull()

    const hub = (a.net as unknown as { hub: MemoryHub }).hub
    const stranger = replica(hub, 'S')
    await expect(stranger.rep.catchUp(groupId, a.net.peerId, 'test')).rejects.toThrow(/refused: not a member of the group/)
    expect(stranger.groups.has(groupId)).toBe(false)
    expect(b.groups.isMember(groupId, b.key.publicKey)).toBe(true)
  })

  it('a session with a peer that does not hold the group is skipped: reported as such, not retried', async () => {
    const { a, groupId } = await trio()
    const outsider = replica((a.net as unknown as { hub: MemoryHub }).hub, 'O')
    const finished: unknown[] = []
    const started: unknown[] = []
    const O = outsider.net.peerId
    a.events.on((e) => void (e.type === 'sync.finished' && e.peerId === O && finished.push(e)))
    a.events.on((e) => void (e.type === 'sync.started' && e.peerId === O && started.push(e)))
    // a retry would be a timer: with the clock in the test's hands, every timer can be run out
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    await expect(a.rep.catchUp(groupId, O, 'peer connected')).rejects.toMatchObject({ kind: 'GroupNotFound', message: 'the peer does not hold the group' })
    expect(finished).toEqual([expect.objectContaining({ groupId: groupId.toString('hex'), peerId: O, ok: true, fetched: 0, skipped: 'the peer does not hold the group' })])
    vi.advanceTimersByTime(60_000) // a session starts synchronously when its timer fires
    vi.useRealTimers()
    expect(started).toHaveLength(1)
    expect(finished).toHaveLength(1)
    expect(outsider.groups.has(groupId)).toBe(false)
    // an invitation that names a peer without the group as the inviter says so at once
    const misdirected = createInvitation(a.key, groupId, 'member', Date.now() + 60_000)
    await expect(replica((a.net as unknown as { hub: MemoryHub }).hub, 'J').rep.join(encodeToken(misdirected, { peerId: O, addresses: [] }))).rejects.toMatchObject({ kind: 'GroupNotFound', message: expect.stringMatching(new RegExp(`^the inviter ${O} at \\(no address\\) does not hold the group`)) })
  })

  it('drops and counts garbage, oversized, forged and wrong-topic messages', async () => {
    const { a, groupId } = await trio()
    const topic = groupTopic(groupId.toString('hex'))
    const good = a.groups.getOps(groupId, [a.groups.heads(groupId)[0]!])[0]!
    const forged = Buffer.from(good)
    forged[forged.length - 1]! ^= 1
    const before = viewOf(a.groups, groupId).stateHash
    const key = a.groups.keyAt(groupId, GROUP_SCOPE)
    if (key.status !== 'ok') throw new Error('A holds the topic key')
    const sealed = (op: Buffer, g = groupId) => encodeTopicMessage(sealGroupMessage(g, key, { type: 'GroupOp', op }))
    a.net.deliver({ topic, from: 'X', data: Buffer.from('garbage') })
    a.net.deliver({ topic, from: 'X', data: Buffer.alloc(300 * 1024) })
    a.net.deliver({ topic, from: 'X', data: sealed(forged) })
    a.net.deliver({ topic: groupTopic('ab'.repeat(32)), from: 'X', data: sealed(good) })
    // sealed under a key nobody gave A, and a seal that does not open under the key it names
    a.net.deliver({ topic, from: 'X', data: encodeTopicMessage(sealGroupMessage(groupId, { key: Buffer.alloc(32, 7), keyId: Buffer.alloc(32, 8) }, { type: 'GroupOp', op: good })) })
    const broken = decodeTopicMessage(sealed(good))
    if (broken.type === 'GroupSealed') broken.sealed[20]! ^= 1
    a.net.deliver({ topic, from: 'X', data: encodeTopicMessage(broken) })
    expect(a.rep.dropped).toMatchObject({ malformed: 1, oversized: 1, bad_signature: 1, wrong_topic: 1, unknown_key: 1, undecryptable: 1 })
    expect(viewOf(a.groups, groupId).stateHash).toBe(before)
  })

  it('with a validation hook, checks messages before delivery: rejects faults, ignores unknown groups, verifies once', async () => {
    type Verdict = 'accept' | 'reject' | 'ignore'
    /** A memory peer whose topic validators run before delivery, as gossipsub's do. */
    class ValidatingPeer extends MemoryPeer {
      readonly validators = new Map<string, (m: TopicMessageEvent) => Verdict>()
      readonly verdicts: Verdict[] = []
      setTopicValidator(prefix: string, v: (m: TopicMessageEvent) => Verdict): () => void {
        this.validators.set(prefix, v)
        return () => this.validators.delete(prefix)
      }
      override deliver(m: TopicMessageEvent): void {
        for (const [prefix, v] of this.validators) {
          if (!m.topic.startsWith(prefix)) continue
          const verdict = v(m)
          this.verdicts.push(verdict)
          if (verdict !== 'accept') return
        }
        super.deliver(m)
      }
    }
    const hub = new MemoryHub()
    const key = generateKeyPair()
    const groups = new GroupStore(undefined, new KeyRing(key))
    const net = new ValidatingPeer(hub, 'V')
    hub.nodes.set('V', net)
    const rep = new GroupReplicator(groups, key, net, { heartbeatMs: 60_000, syncTimeoutMs: 2_000 })
    rep.start()
    started.push(rep)
    const other = generateKeyPair()
    const source = new GroupStore(undefined, new KeyRing(other))
    const { groupId, op: genesis } = source.createGroup(other)
    groups.ingestVerifiedOps([genesis])
    // V holds the topic's key as a member would (given by a peer)
    groups.acceptKeys(groupId, GROUP_SCOPE, source.keysToShare(groupId, GROUP_SCOPE))
    const k = source.keyAt(groupId, GROUP_SCOPE)
    if (k.status !== 'ok') throw new Error('the owner holds the topic key')
    const sealed = (op: Buffer, g = groupId) => encodeTopicMessage(sealGroupMessage(g, k, { type: 'GroupOp', op }))
    const topic = groupTopic(groupId.toString('hex'))
    const next = source.issue(groupId, other, { kind: 'GroupAliasSet', alias: 'checked-once' })
    const forged = Buffer.from(next.bytes)
    forged[forged.length - 1]! ^= 1
    const elsewhere = new GroupStore().createGroup(other)

    net.deliver({ topic, from: 'X', data: Buffer.from('garbage') })
    net.deliver({ topic, from: 'X', data: sealed(forged) })
    net.deliver({ topic, from: 'X', data: sealed(elsewhere.op.bytes) })
    net.deliver({ topic: groupTopic(elsewhere.groupId.toString('hex')), from: 'X', data: sealed(elsewhere.op.bytes, elsewhere.groupId) })
    expect(net.verdicts).toEqual(['reject', 'reject', 'reject', 'ignore'])
    expect(rep.dropped).toMatchObject({ malformed: 1, bad_signature: 1, wrong_topic: 1, unknown_group: 1 })
    expect(rep.received).toBe(4)

    net.deliver({ topic, from: 'X', data: sealed(next.bytes) })
    expect(net.verdicts.at(-1)).toBe('accept')
    expect(viewOf(groups, groupId).stateHash).toBe(viewOf(source, groupId).stateHash)
    // decoded and verified by the hook, ingested from its result: inspected once
    expect(rep.received).toBe(5)
    rep.stop()
    expect(net.validators.size).toBe(0)
  })

  /** A and B in one group, with heartbeats a minute apart: only what a test does moves ops. */
  async function quietPair() {
    const hub = new MemoryHub()
    const [a, b] = [replica(hub, 'A', 60_000), replica(hub, 'B', 60_000)]
    const { groupId } = a.groups.createGroup(a.key)
    a.rep.follow(groupId)
    await b.rep.join(encodeToken(createInvitation(a.key, groupId, 'admin', Date.now() + 60_000), { peerId: a.net.peerId, addresses: [] }))
    await waitFor(() => viewOf(a.groups, groupId).stateHash === viewOf(b.groups, groupId).stateHash, 3_000)
    return { a, b, groupId }
  }

  it('a catch-up that fails (peer unreachable) is retried with backoff, with no other trigger', async () => {
    const { a, b, groupId } = await quietPair()
    a.net.online = false // its op is not gossiped, and B cannot reach it
    const opId = (await a.rep.issue(groupId, { kind: 'MemberAdded', member: generateKeyPair().publicKey, role: 'member' })).id
    await expect(b.rep.catchUp(groupId, a.net.peerId, 'test')).rejects.toThrow(/unreachable/)
    a.net.online = true
    await waitFor(() => b.groups.knows(groupId, opId), 3_000)
  })

  it('a member added is told directly only when its node is connected: new members offline are not dialled', async () => {
    const { a, b, groupId } = await quietPair()
    const opened: string[] = []
    const open = a.net.open.bind(a.net)
    a.net.open = (peerId, protocol) => (opened.push(peerId), open(peerId, protocol))
    const offline = Array.from({ length: 20 }, () => generateKeyPair().publicKey)
    for (const member of offline) await a.rep.issue(groupId, { kind: 'MemberAdded', member, role: 'member' })
    expect(opened.filter((p) => offline.some((m) => peerIdFromPublicKey(m) === p))).toEqual([])
    // B, connected, removed and added back (its node stopped following), is told at once
    await a.rep.issue(groupId, { kind: 'MemberRemoved', member: b.key.publicKey })
    await a.rep.issue(groupId, { kind: 'MemberAdded', member: b.key.publicKey, role: 'member' })
    expect(opened).toContain(b.net.peerId)
  })

  it('a catch-up asked for while one runs is held until it is over, then runs', async () => {
    const { a, b, groupId } = await quietPair()
    const started: string[] = []
    b.events.on((e) => void (e.type === 'sync.started' && started.push(e.reason)))
    const running = b.rep.catchUp(groupId, a.net.peerId, 'first')
    b.rep.schedule(groupId, a.net.peerId, 'asked during the first', 0)
    await running
    await waitFor(() => started.length === 2, 2_000)
    expect(started).toEqual(['first', 'asked during the first'])
  })

  it('sync.max_concurrent: a catch-up beyond the bound is refused as busy and runs once the running one is over', async () => {
    const hub = new MemoryHub()
    const [a, b] = [replica(hub, 'A', 60_000), replica(hub, 'B', 60_000, 1)]
    const groups = [a.groups.createGroup(a.key).groupId, a.groups.createGroup(a.key).groupId]
    for (const g of groups) {
      a.rep.follow(g)
      await b.rep.join(encodeToken(createInvitation(a.key, g, 'admin', Date.now() + 60_000), { peerId: a.net.peerId, addresses: [] }))
    }
    await waitFor(() => groups.every((g) => a.groups.isMember(g, b.key.publicKey)), 3_000)
    a.net.online = false
    const later = await Promise.all(groups.map((g) => a.rep.issue(g, { kind: 'GroupAliasSet', alias: 'later' })))
    a.net.online = true
    const { held, release } = holdFirst(b.net, 'Heads')
    const first = b.rep.catchUp(groups[0]!, a.net.peerId, 'first')
    await waitFor(held, 3_000)
    await expect(b.rep.catchUp(groups[1]!, a.net.peerId, 'second')).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/too many sync sessions/) })
    release()
    expect(await first).toMatchObject({ applied: 1 })
    // kept, and run once there is room
    await waitFor(() => b.groups.knows(groups[1]!, later[1]!.id), 3_000)
  })
})
