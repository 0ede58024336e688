import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RpcClient } from '../../src/client/rpc-client.js'
import { generateKeyPair, keyPairFromSeed } from '../../src/core/crypto/ed25519.js'
import { MeroNode } from '../../src/core/node/node.js'
import { Hlc } from '../../src/core/primitives/hlc.js'
import { encodeDelta } from '../../src/core/state/index.js'
import { Store } from '../../src/core/store/store.js'
import { signDelta } from '../../src/core/context/delta-envelope.js'
import { sealContextMessage } from '../../src/core/sync/sealed-topics.js'
import { keyIdOf } from '../../src/core/governance/rotation.js'
import { keysHeldBy } from '../helpers/held-keys.js'
import { Libp2pNetwork } from '../../src/core/network/libp2p-network.js'
import { fromBase58 } from '../../src/core/primitives/encoding.js'
import { fetchBlob } from '../../src/core/blobs/blob-transfer.js'
import { BLOB_PROTOCOL } from '../../src/core/blobs/blob-wire.js'
import { ContextSyncClient } from '../../src/core/sync/context-sync.js'
import { memberAuth } from '../../src/core/governance/stream-auth.js'
import { contextTopic, decodeTopicMessage, encodeTopicMessage, SYNC_PROTOCOL, type TopicMessage } from '../../src/core/sync/wire.js'
import { collectEvents, ROOT, TestHome, waitFor, waitForDropCounts } from '../helpers/harness.js'

/** Issue 6's acceptance: context state replicated between three (and a fourth, fresh) real daemons. */
const KV = join(ROOT, 'apps/kv-store/build/kv-store.wasm')

type Sync = { method: string; ok: boolean; fetched: number }
type Meta = { contextId: string; rootHash: string; heads: string[]; deltas: number; sync: { state: string; lastSync: Sync | null; lastFetch: Sync | null; pendingDeltas: number } }

describe('context replication across daemons', () => {
  const t = new TestHome()
  const rpc: Record<string, RpcClient> = {}
  const ids: Record<string, string> = {}
  let groupId: string
  let contextId: string
  let applicationId: string

  const meta = (n: string) => rpc[n]!.call<Meta>('context.get', { context: contextId })
  const call = (n: string, method: string, args: unknown = {}) => rpc[n]!.call<{ result: unknown; rootHash: string }>('context.execute', { context: contextId, method, args })
  const roots = async (nodes: string[]) => Promise.all(nodes.map(async (n) => (await meta(n).catch(() => ({ rootHash: n }))).rootHash))
  const converged = async (nodes: string[]) => new Set(await roots(nodes)).size === 1

  async function startNode(n: string): Promise<void> {
    await t.init(n)
    t.editConfig(n, (c) => {
      const fast = c.replace(/group_heartbeat_secs = \d+/, 'group_heartbeat_secs = 1').replace(/context_heartbeat_secs = \d+/, 'context_heartbeat_secs = 1')
      // A builds the 10,000-delta history with calls in flight: one delta per call there
      return n === 'a' ? fast.replace('coalesce_calls = true', 'coalesce_calls = false') : fast
    })
    ids[n] = (await t.start(n)).identity
    rpc[n] = t.rpc(n)
  }

  async function joinGroup(n: string, role: 'admin' | 'member'): Promise<void> {
    const inv = await rpc.a!.call<{ token: string }>('group.createInvitation', { group: groupId, role })
    await t.json(['group', 'join', inv.token, '--node', n])
  }

  beforeAll(async () => {
    for (const n of ['a', 'b', 'c']) await startNode(n)
    groupId = (await rpc.a!.call<{ groupId: string }>('group.create', {})).groupId
    await joinGroup('b', 'admin')
    await joinGroup('c', 'member')
    applicationId = (await t.json(['app', 'install', KV, '--node', 'a'])).applicationId
    await t.json(['app', 'install', KV, '--node', 'b'])
    contextId = (await t.json(['context', 'create', '--group', groupId, '--app', applicationId, '--node', 'a'])).contextId
    await call('a', 'set', { key: 'genesis', value: 'from a' })
  }, 90_000)

  afterAll(async () => {
    for (const c of Object.values(rpc)) c.close()
    await t.cleanup()
  })

  it('members join the context; concurrent writes on all three converge', async () => {
    // B has the app; C gets it from a peer over the blob protocol
    const joined = await t.json(['context', 'join', contextId, '--node', 'b'])
    expect(joined).toMatchObject({ contextId, groupId })
    await waitFor(() => rpc.c!.call<{ contexts: { contextId: string }[] }>('group.get', { group: groupId }).then((g) => g.contexts.some((c) => c.contextId === contextId)), 5_000)
    expect((await t.json(['app', 'list', '--node', 'c'])).applications).toEqual([])
    const joinC = await t.cli(['context', 'join', contextId, '--node', 'c'])
    expect(joinC.stdout).toMatch(new RegExp(`Joined context ${contextId} of group ${groupId}: \\d+ record\\(s\\) fetched \\((deltas|snapshot|none)`))
    const apps = (await t.json(['app', 'list', '--node', 'c'])).applications
    expect(apps).toEqual([expect.objectContaining({ applicationId, source: expect.stringMatching(/^peer:/) })])
    expect(await rpc.c!.get('/metrics')).toMatch(/merod_blob_transfers\{outcome="fetched"\} 1\n/)
    expect((await call('c', 'get', { key: 'genesis' })).result).toBe('from a')

    await Promise.all(
      ['a', 'b', 'c'].map(async (n) => {
        for (let i = 0; i < 40; i++) await call(n, 'set', { key: i % 4 === 0 ? `shared-${i}` : `${n}-${i}`, value: `${n}:${i}` })
      }),
    )
    const counted = async (name: string) => Number(new RegExp(`${name} (\\d+)`).exec(await rpc.b!.get('/metrics'))?.[1])
    // one call at a time: a delta each
    expect([await counted('merod_context_calls_committed'), await counted('merod_context_deltas_committed')]).toEqual([40, 40])
    // and bursts of calls in flight together on B and C, which commit together: fewer deltas
    // than writes. Each burst is one JSON-RPC batch, so that its calls are in flight at once:
    // separate requests are in flight together only if they arrive while another call runs,
    // and a quiet machine answered each of 48 concurrent requests before the next one came
    const BURST = 48
    await Promise.all(
      ['b', 'c'].map(async (n) => {
        const batch = Array.from({ length: BURST }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'context.execute', params: { context: contextId, method: 'set', args: { key: `burst-${n}-${i}`, value: `${i}` } } }))
        const answers = (await rpc[n]!.post(batch)) as { id: number; result?: unknown; error?: unknown }[]
        expect(answers.filter((a) => a.result !== undefined && a.error === undefined)).toHaveLength(BURST)
      }),
    )
    expect(await counted('merod_context_calls_committed')).toBe(40 + BURST)
    const burstDeltas = (await counted('merod_context_deltas_committed')) - 40
    expect(burstDeltas).toBeGreaterThanOrEqual(1)
    expect(burstDeltas).toBeLessThan(BURST) // some of them shared a delta
    await waitFor(() => converged(['a', 'b', 'c']), 10_000)
    const entries = await Promise.all(['a', 'b', 'c'].map((n) => call(n, 'entries')))
    expect(entries[1]!.result).toEqual(entries[0]!.result)
    expect(entries[2]!.result).toEqual(entries[0]!.result)
    expect(((await call('a', 'len')).result as number)).toBe(1 + 10 + 30 * 3 + 2 * BURST)
    // B sees both other members on the context's topic, and no session running
    await waitFor(async () => (await meta('b')).sync.state === 'replicating' && (await rpc.b!.call<{ sync: { peers: number } }>('context.get', { context: contextId })).sync.peers === 2, 10_000)
    const human = await t.cli(['context', 'get', contextId, '--node', 'b'])
    expect(human.stdout).toMatch(/sync\s+(replicating, 2 peer\(s\)|syncing)/)
  })

  it('a node stopped during 1,000 writes catches up after restart', async () => {
    await t.cli(['node', 'stop', '--node', 'c'])
    for (let i = 0; i < 1000; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => call(i % 40 === 0 ? 'a' : 'b', 'set', { key: `offline-${i + j}`, value: `${i + j}` })))
    }
    await t.start('c')
    await waitFor(() => converged(['a', 'b', 'c']), 20_000)
    expect((await call('c', 'get', { key: 'offline-999' })).result).toBe('999')
    const c = await meta('c')
    expect(c.sync.lastSync?.ok).toBe(true)
    expect(c.sync.lastFetch).toMatchObject({ ok: true, method: expect.stringMatching(/deltas/) })
    expect(c.sync.lastFetch!.fetched).toBeGreaterThan(0)
    const human = await t.cli(['context', 'get', contextId, '--node', 'c'])
    expect(human.stdout).toMatch(/last (sync|fetch)\s+.+ with \S+, [1-9]\d* fetched \((deltas|by-id)/)
    // `context sync` runs a session with each peer now: when it returns, C holds what they hold
    await call('a', 'set', { key: 'before-sync', value: 'a' })
    const synced = await t.json(['context', 'sync', contextId, '--node', 'c'])
    expect(synced).toMatchObject({ contextId, errors: [] })
    expect(synced.peers).toBeGreaterThanOrEqual(2)
    expect(synced.rootHash).toBe((await meta('a')).rootHash)
    expect((await call('c', 'get', { key: 'before-sync' })).result).toBe('a')
    const text = await t.cli(['context', 'sync', contextId, '--node', 'c'])
    expect(text.stdout).toMatch(new RegExp(`^Synced ${contextId} with [1-9]\\d* peer\\(s\\): \\d+ record\\(s\\) fetched; root hash ${synced.rootHash}\\n$`))
  })

  it('a fresh node joining a context with a 10,000-delta history converges through a snapshot', async () => {
    // until A holds 10,000 deltas (B's and C's writes came in deltas of several)
    for (let i = 0; (await meta('a')).deltas < 10_000 && i < 12_000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => call('a', 'set', { key: `bulk-${(i + j) % 3000}`, value: `${i + j}` })))
    }
    const a = await meta('a')
    expect(a.deltas).toBeGreaterThanOrEqual(10_000)
    await startNode('d') // without the app: the invitation's context join fetches it
    // one token admits D to the group and the context (JoinGroupContext)
    const inv = await t.json(['invitation', 'create', groupId, '--context', contextId, '--node', 'a'])
    expect(inv.contextId).toBe(contextId)
    const joined = await t.json(['group', 'join', inv.token, '--node', 'd'])
    expect(joined).toMatchObject({ groupId, contextId })
    expect((await t.json(['app', 'list', '--node', 'd'])).applications.map((x: { applicationId: string }) => x.applicationId)).toEqual([applicationId])
    await waitFor(() => converged(['a', 'd']), 20_000)
    expect((await call('d', 'get', { key: 'bulk-2999' })).result).toBe((await call('a', 'get', { key: 'bulk-2999' })).result)
    // the join's own session (a later one, when D meets another peer, finds nothing to fetch)
    expect(joined.contextSync.method).toMatch(/snapshot/)
    // and it keeps replicating after the snapshot
    await call('d', 'set', { key: 'after-snapshot', value: 'd' })
    await waitFor(async () => (await call('a', 'get', { key: 'after-snapshot' })).result === 'd', 10_000)
  })

  it('a non-member is served nothing; a removed member cannot write', async () => {
    const status = await rpc.a!.call<{ peerId: string; listenAddresses: string[] }>('node.status')
    const stranger = new Libp2pNetwork({ seed: generateKeyPair().privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    await stranger.start()
    try {
      const channel = await stranger.open(status.peerId, SYNC_PROTOCOL, status.listenAddresses.map((x) => `${x}/p2p/${status.peerId}`))
      await expect(ContextSyncClient.open(channel, fromBase58(contextId), memberAuth(generateKeyPair(), status.peerId)).then((c) => c.key())).rejects.toThrow(/refused: not a member/)
      // nor the application: its holders announce it in the DHT, but serve it to members only
      const appId = fromBase58(applicationId)
      const providers = await waitFor(async () => {
        const found = (await stranger.routing.findProviders(appId, { timeoutMs: 2_000 })).map((p) => p.peerId)
        return found.includes(status.peerId) ? found : undefined
      }, 15_000, 200)
      expect(providers).toContain(status.peerId)
      const blobChannel = await stranger.open(status.peerId, BLOB_PROTOCOL)
      await expect(fetchBlob(blobChannel, appId, { groupId: Buffer.from(groupId, 'hex'), auth: memberAuth(generateKeyPair(), status.peerId), maxBytes: 1 << 24 })).rejects.toMatchObject({ kind: 'NotAuthorized', message: expect.stringMatching(/not a member/) })
    } finally {
      await stranger.stop()
    }
    await rpc.a!.call('group.removeMembers', { group: groupId, identities: [ids.c] })
    await waitFor(() => rpc.c!.call<{ members: { identity: string }[] }>('group.get', { group: groupId }).then((g) => !g.members.some((m) => m.identity === ids.c)), 5_000)
    // C's node refuses to execute for a removed identity …
    await expect(call('c', 'set', { key: 'after-removal', value: 'c' })).rejects.toThrow(/not a member/)
    // … and a delta C's key signs anyway, at a governance position that includes its removal,
    // sealed with the context key C holds and gossiped to A, is rejected there
    rpc.c!.close()
    await t.cli(['node', 'stop', '--node', 'c'])
    const late = await deltaOfRemoved(t.nodeDir('c'), contextId)
    const before = (await meta('a')).rootHash
    const rejected = async () => Number(/merod_context_deltas_dropped\{reason="rejected"\} (\d+)/.exec(await rpc.a!.get('/metrics'))?.[1] ?? 0)
    const rejectedBefore = await rejected()
    const peer = new Libp2pNetwork({ seed: generateKeyPair().privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    await peer.start()
    try {
      await peer.connect(`${status.listenAddresses[0]}/p2p/${status.peerId}`)
      const topic = contextTopic(contextId)
      peer.subscribe(topic)
      await waitFor(() => peer.topicPeers(topic).includes(status.peerId), 5_000)
      await peer.publish(topic, late)
      await waitFor(async () => (await rejected()) > rejectedBefore, 10_000)
    } finally {
      await peer.stop()
    }
    expect((await meta('a')).rootHash).toBe(before)
    expect((await call('a', 'get', { key: 'after-removal' })).result).toBeNull()
  })

  it('drops and counts corrupt, forged, undecryptable and oversized deltas, and keeps running', async () => {
    const status = await rpc.a!.call<{ peerId: string; listenAddresses: string[] }>('node.status')
    // a key of the context's first epoch, from the removed member's stopped node (A still opens what is sealed under it)
    const old = (await keysHeldBy(t.nodeDir('c'))).find((k) => k.scope === fromBase58(contextId).toString('hex'))!
    const oldKey = { key: old.key, keyId: keyIdOf(old.key) }
    const peer = new Libp2pNetwork({ seed: generateKeyPair().privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    await peer.start()
    try {
      await peer.connect(`${status.listenAddresses[0]}/p2p/${status.peerId}`)
      const topic = contextTopic(contextId)
      let captured: Extract<TopicMessage, { type: 'ContextSealed' }> | undefined
      peer.onMessage((m) => {
        if (m.topic !== topic) return
        const msg = decodeTopicMessage(m.data)
        if (msg.type === 'ContextSealed') captured = msg
      })
      peer.subscribe(topic)
      await waitFor(() => peer.topicPeers(topic).includes(status.peerId), 5_000)
      // a real message of B's, as gossip carries it (sealed; the peer cannot read it)
      await waitFor(async () => {
        await call('b', 'set', { key: 'observed', value: String(Date.now()) })
        return captured
      }, 5_000, 200)
      const tampered = { ...captured!, sealed: Buffer.from(captured!.sealed) }
      tampered.sealed[20]! ^= 1
      // a delta with a broken signature, sealed under a key A holds
      const forgedWire = signDelta(generateKeyPair(), fromBase58(contextId), [], { delta: Buffer.from('x'), events: '[]' })
      forgedWire.signature[0]! ^= 1
      const rejected = await collectEvents<{ peerId: string; topic: string; reason: string }>(rpc.a!, ['message.rejected'])
      await peer.publish(topic, Buffer.from('corrupt bytes'))
      await peer.publish(topic, encodeTopicMessage(sealContextMessage(fromBase58(contextId), oldKey, { type: 'Deltas', deltas: [forgedWire] })))
      await peer.publish(topic, encodeTopicMessage(tampered))
      await peer.publish(topic, Buffer.alloc(300 * 1024, 2))
      await waitForDropCounts(() => rpc.a!.get('/metrics'), 'merod_context_deltas_dropped', ['malformed', 'bad_signature', 'undecryptable', 'oversized'])
      // each refused message is reported with its sender and reason
      await waitFor(() => ['malformed', 'bad_signature', 'undecryptable', 'oversized'].every((r) => rejected.events.some((e) => e.reason === r)), 5_000)
      expect(rejected.events.every((e) => e.peerId === peer.peerId && e.topic === 'context')).toBe(true)
      await rejected.stop()
      // still serving, still converged
      await call('a', 'set', { key: 'still-alive', value: 'yes' })
      await waitFor(() => converged(['a', 'b', 'd']), 10_000)
    } finally {
      await peer.stop()
    }
  })
})

/**
 * What a removed member's modified node could send: a delta writing `after-removal` in kv-store's
 * map, signed by the member's key at the governance position it holds (which includes its
 * removal), sealed under the last context key it holds, as a gossip message. Read from its
 * stopped node's home.
 */
async function deltaOfRemoved(nodeDir: string, contextIdB58: string): Promise<Buffer> {
  const identity = keyPairFromSeed(fromBase58(JSON.parse(readFileSync(join(nodeDir, 'identity.key'), 'utf8')).privateKey))
  const dir = mkdtempSync('/tmp/mero-t-removed-')
  const store = await Store.open(join(nodeDir, 'data'))
  try {
    const node = new MeroNode({ store, identity, blobsDir: join(dir, 'blobs') })
    node.groups.start()
    const contextId = fromBase58(contextIdB58)
    const meta = node.contexts.require(contextId)
    const session = node.contexts.state(contextId).begin(identity.publicKey, new Hlc(identity.publicKey))
    session.mapInsert('items', Buffer.from('after-removal'), Buffer.from('c'))
    const res = session.finish()
    const delta = encodeDelta({ contextId, parents: meta.heads, hlc: res.hlc!, author: identity.publicKey, actions: res.actions })
    const { groupId } = meta
    const position = node.groups.heads(groupId)
    const wire = signDelta(identity, contextId, position, { delta, events: '[]' })
    const ops = node.groups.ops(groupId).reverse()
    const held = ops.map((o) => node.groups.keyAt(groupId, contextId.toString('hex'), [o.opId])).find((k) => k.status === 'ok')
    if (held?.status !== 'ok') throw new Error('the removed node holds no key of the context')
    return encodeTopicMessage(sealContextMessage(contextId, held, { type: 'Deltas', deltas: [wire] }))
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
