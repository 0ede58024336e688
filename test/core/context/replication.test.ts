import fc from 'fast-check'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MeroNode } from '../../../src/core/node/node.js'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { Hlc } from '../../../src/core/primitives/hlc.js'
import { encodeDelta } from '../../../src/core/state/index.js'
import { MAX_DELTAS_PER_MESSAGE, signDelta, verifyDelta, type VerifiedDelta } from '../../../src/core/context/delta-envelope.js'
import { openContextMessage, sealContextMessage } from '../../../src/core/sync/sealed-topics.js'
import { decodeFrame, decodeTopicMessage, encodeContextPlain, encodeFrame, encodeTopicMessage, type SyncFrame } from '../../../src/core/sync/wire.js'
import { seal } from '../../../src/core/crypto/aead.js'
import { ensureBuilt, kvStoreWasm } from '../runtime/fixtures.js'
import { authored, closeNodes, handOver, newNode, shareOps } from './helpers.js'

/**
 * The receiving half of context replication, in process over real stores and the real runtime:
 * three nodes author kv-store writes; each receives the others' signed deltas in any order.
 */
afterEach(closeNodes)

/** A group of three nodes with a kv-store context that all three joined. */
async function cluster(): Promise<{ nodes: MeroNode[]; groupId: Buffer; contextId: Buffer }> {
  const nodes = [await newNode(), await newNode(), await newNode()]
  for (const n of nodes) await n.applications.install(kvStoreWasm())
  const [a, b, c] = nodes as [MeroNode, MeroNode, MeroNode]
  const groupId = a.createGroup()
  await a.issueGroupOp(groupId, { kind: 'MemberAdded', member: b.identity.publicKey, role: 'member' })
  await a.issueGroupOp(groupId, { kind: 'MemberAdded', member: c.identity.publicKey, role: 'member' })
  const appId = fromBase58((a.applications.list()[0] as { applicationId: string }).applicationId, 'application id', 32)
  const contextId = await openContext(nodes as [MeroNode, MeroNode, MeroNode], groupId, appId)
  return { nodes, groupId, contextId }
}

/** A context created on the first node, joined by the others, its ops and the creator's init delta shared with everyone. */
async function openContext(nodes: [MeroNode, MeroNode, MeroNode], groupId: Buffer, appId: Buffer): Promise<Buffer> {
  const [a, b, c] = nodes
  const meta = await a.contexts.create(groupId, appId, {})
  const contextId = meta.contextId
  for (const n of [b, c]) {
    handOver(a, n, groupId, contextId)
    await n.issueGroupOp(groupId, { kind: 'ContextJoined', contextId })
  }
  for (const x of nodes) for (const y of nodes) if (x !== y) shareOps(x, y, groupId)
  // the creator's init delta, to everyone
  for (const n of [b, c]) n.remoteDeltas.receive(contextId, own(a, contextId))
  return contextId
}

/** The deltas a node authored (from its log, parents first), verified as a receiver would. */
const own = (n: MeroNode, contextId: Buffer): VerifiedDelta[] => authored(n, contextId)

/** The key of a context's current epoch on a node (it must hold it). */
function epochKey(n: MeroNode, groupId: Buffer, contextId: Buffer) {
  const k = n.groups.keyAt(groupId, contextId.toString('hex'))
  if (k.status !== 'ok') throw new Error(`no usable key: ${k.status}`)
  return k
}

const entries = async (n: MeroNode, contextId: Buffer) => (await n.contexts.execute(contextId, 'entries', {})).result
const root = (n: MeroNode, contextId: Buffer) => n.contexts.require(contextId).rootHash.toString('hex')

describe('context replication (in process)', () => {
  beforeAll(async () => {
    await ensureBuilt()
  }, 120_000)

  it('writes interleaved with partial exchanges, then any delivery order of the same deltas: the same root hash, entries and DAG', async () => {
    // a group of three nodes serves 20 runs (each run has a context of its own), then the next
    // group takes over: a group's governance grows with every context
    let nodes: MeroNode[] = []
    let groupId: Buffer = Buffer.alloc(0)
    let appId: Buffer = Buffer.alloc(0)
    let runs = 0
    async function freshContext(): Promise<Buffer> {
      if (runs++ % 20 === 0) {
        await closeNodes()
        ;({ nodes, groupId } = await cluster())
        appId = nodes[0]!.contexts.list()[0]!.applicationId
      }
      return openContext(nodes as [MeroNode, MeroNode, MeroNode], groupId, appId)
    }
    /** Everything `n` holds of the context (its own deltas and those it received), parents first. */
    const held = (n: MeroNode, contextId: Buffer) => authored(n, contextId, 'any')

    /** A remove with `ofRemote` takes, when it can, a key whose value another node wrote. */
    type Step = { kind: 'write'; node: number; key: string; remove: boolean; ofRemote: boolean; value: string } | { kind: 'exchange'; from: number; to: number; newestOnly: boolean }
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), node: fc.integer({ min: 0, max: 2 }), key: fc.constantFrom('a', 'b', 'c', 'd'), remove: fc.boolean(), ofRemote: fc.boolean(), value: fc.string({ maxLength: 4 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('exchange' as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }), newestOnly: fc.boolean() }) },
    )
    const seen = { pending: 0, removesOfRemote: 0, parentsFromOthers: 0 }
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 24, size: 'medium' }), fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 1, max: 5 }), async (steps, seeds, chunk) => {
        const contextId = await freshContext()
        /** The deltas each node wrote in this run (the creator's init delta is everyone's start). */
        const wrote = nodes.map(() => new Set<string>())
        for (const st of steps) {
          if (st.kind === 'exchange') {
            if (st.from === st.to) continue
            // what one node holds reaches another: all of it, or only its newest deltas (their parents follow later)
            const offered = held(nodes[st.from]!, contextId)
            nodes[st.to]!.remoteDeltas.receive(contextId, st.newestOnly ? offered.slice(-2) : offered)
            continue
          }
          const n = nodes[st.node]!
          let key = st.key
          // values carry their writer: a remove of another node's value is the case where the remove must win
          if (st.remove) {
            const live = Object.entries((await n.contexts.execute(contextId, 'entries', {})).result as Record<string, string>)
            const remote = live.filter(([, v]) => !v.startsWith(`${st.node}:`)).map(([k]) => k)
            if (st.ofRemote && remote.length) key = remote[st.value.length % remote.length]!
            if (remote.includes(key)) seen.removesOfRemote++
          }
          const before = n.contexts.require(contextId).heads.map((h) => h.toString('hex'))
          const r = await n.contexts.execute(contextId, st.remove ? 'remove' : 'set', st.remove ? { key } : { key, value: `${st.node}:${st.value}` })
          if (r.deltaId) wrote[st.node]!.add(r.deltaId)
          if (before.some((h) => wrote.some((w, j) => j !== st.node && w.has(h)))) seen.parentsFromOthers++
        }
        const authoredBy = nodes.map((n) => own(n, contextId))
        for (let i = 0; i < 3; i++) {
          const incoming = authoredBy.filter((_, j) => j !== i).flat()
          // a seeded shuffle: children may well arrive before their parents
          const order = incoming.map((d, k) => ({ d, r: Math.sin(seeds[i]! + k * 7919) })).sort((x, y) => x.r - y.r).map((x) => x.d)
          for (let k = 0; k < order.length; k += chunk) {
            nodes[i]!.remoteDeltas.receive(contextId, order.slice(k, k + chunk))
            if (nodes[i]!.remoteDeltas.pendingCount(contextId) > 0) seen.pending++
          }
          expect(nodes[i]!.remoteDeltas.pendingCount(contextId)).toBe(0)
        }
        const roots = nodes.map((n) => root(n, contextId))
        expect(new Set(roots).size).toBe(1)
        const e = await Promise.all(nodes.map((n) => entries(n, contextId)))
        expect(e[1]).toEqual(e[0])
        expect(e[2]).toEqual(e[0])
        // every delta again, in another order: each one is known as held (heads, their parents
        // and deltas deep in the DAG alike), and nothing changes
        for (let i = 0; i < 3; i++) {
          const n = nodes[i]!
          const before = n.contexts.require(contextId)
          const again = authoredBy.flat().map((d, k) => ({ d, r: Math.cos(seeds[i]! + k * 104_729) })).sort((x, y) => x.r - y.r).map((x) => x.d)
          for (let k = 0; k < again.length; k += chunk) {
            for (const r of n.remoteDeltas.receive(contextId, again.slice(k, k + chunk))) expect(r.status).toBe('duplicate')
          }
          expect(n.contexts.require(contextId)).toEqual(before)
        }
        // and the same DAG: every delta at the same depth on every node, one more than its deepest parent
        for (const v of authoredBy.flat()) {
          const depths = nodes.map((n) => n.contexts.log.header(contextId, v.id)!.depth)
          expect(new Set(depths).size).toBe(1)
          expect(depths[0]).toBe(Math.max(-1, ...v.delta.parents.map((q) => nodes[0]!.contexts.log.header(contextId, q)!.depth)) + 1)
        }
      }),
      { numRuns: 200 },
    )
    // the generator really exercised out-of-order delivery (parked, then cascaded), removes of
    // what another node wrote, and writes on top of another node's deltas
    // (about 400, 55 and 140 in 200 runs)
    expect(seen.pending).toBeGreaterThan(100)
    expect(seen.removesOfRemote).toBeGreaterThan(15)
    expect(seen.parentsFromOthers).toBeGreaterThan(40)
  }, 300_000)

  it("rejects a removed member's deltas authored after the removal, on every node", async () => {
    const { nodes, groupId, contextId } = await cluster()
    const [a, b, c] = nodes as [MeroNode, MeroNode, MeroNode]
    await a.issueGroupOp(groupId, { kind: 'MemberRemoved', member: c.identity.publicKey })
    for (const n of [b, c]) shareOps(a, n, groupId)
    // C's node refuses to execute for a removed identity …
    await expect(c.contexts.execute(contextId, 'set', { key: 'x', value: 'y' })).rejects.toThrow(/not a member/)
    // … and a delta C signs anyway, at a position that includes its removal, is rejected by all
    const forged = signDelta(c.identity, contextId, c.groups.heads(groupId), { delta: craftDelta(c, contextId), events: '[]' })
    for (const n of [a, b]) {
      const before = root(n, contextId)
      const [r] = n.remoteDeltas.receive(contextId, [verifyDelta(contextId, forged)])
      expect(r).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/not a member/) })
      expect(root(n, contextId)).toBe(before)
    }
  })

  it('waits for governance it lacks, then applies', async () => {
    const { nodes, groupId, contextId } = await cluster()
    const [a, b] = nodes as [MeroNode, MeroNode]
    const d = await newNode()
    await d.applications.install(kvStoreWasm())
    await a.issueGroupOp(groupId, { kind: 'MemberAdded', member: d.identity.publicKey, role: 'member' })
    handOver(a, d, groupId, contextId)
    await d.issueGroupOp(groupId, { kind: 'ContextJoined', contextId })
    d.remoteDeltas.receive(contextId, own(a, contextId))
    await d.contexts.execute(contextId, 'set', { key: 'from-d', value: '1' })
    // B has not seen D's admission nor its joining: the delta waits for them
    const [r] = b.remoteDeltas.receive(contextId, own(d, contextId))
    expect(r!.status).toBe('pending')
    expect(b.remoteDeltas.pendingCount(contextId)).toBe(1)
    shareOps(d, b, groupId)
    b.remoteDeltas.retry(contextId)
    expect(b.remoteDeltas.pendingCount(contextId)).toBe(0)
    expect((await b.contexts.execute(contextId, 'get', { key: 'from-d' })).result).toBe('1')
  })

  it('finds what a peer lacks by walking the DAG from both ends', async () => {
    const { nodes, contextId } = await cluster()
    const [a, b] = nodes as [MeroNode, MeroNode]
    for (let i = 0; i < 5; i++) await a.contexts.execute(contextId, 'set', { key: `k${i}`, value: 'a' })
    b.remoteDeltas.receive(contextId, own(a, contextId).slice(0, 3))
    const bHeads = b.contexts.require(contextId).heads
    const aHeads = a.contexts.require(contextId).heads
    const missing = a.contexts.log.missingFor(contextId, aHeads, bHeads)
    expect(missing.length).toBe(3) // the two later sets, and none B has
    b.remoteDeltas.receive(contextId, a.contexts.log.signed(contextId, missing).map(({ wire }) => verifyDelta(contextId, wire)))
    expect(root(b, contextId)).toBe(root(a, contextId))
    expect(a.contexts.log.missingFor(contextId, aHeads, aHeads)).toEqual([])
  })

  it('a peer that wrote deltas of its own is sent what it lacks, not the whole history', async () => {
    const { nodes, contextId } = await cluster()
    const [a, b] = nodes as [MeroNode, MeroNode]
    for (let i = 0; i < 40; i++) await a.contexts.execute(contextId, 'set', { key: `old-${i}`, value: 'a' })
    b.remoteDeltas.receive(contextId, own(a, contextId))
    // concurrent writes: B's three are still on their way to A when B asks A for a diff
    for (let i = 0; i < 3; i++) await b.contexts.execute(contextId, 'set', { key: `b-${i}`, value: 'b' })
    for (let i = 0; i < 5; i++) await a.contexts.execute(contextId, 'set', { key: `new-${i}`, value: 'a' })
    const heads = (n: MeroNode) => n.contexts.require(contextId).heads
    // B's heads alone are unknown to A: A's walk would send everything it holds
    expect(a.contexts.log.missingFor(contextId, heads(a), heads(b)).length).toBe(46)
    const have = b.contexts.log.negotiation(contextId, heads(b))
    expect(have.length).toBeLessThanOrEqual(1 + 6)
    const missing = a.contexts.log.missingFor(contextId, heads(a), have)
    // A's five new deltas, and at most a few old ones: the nearest known sample lies at most
    // about twice as far back as B's three unknown deltas
    const fresh = own(a, contextId).slice(-5).map((v) => v.id.toString('hex'))
    expect(missing.map((id) => id.toString('hex'))).toEqual(expect.arrayContaining(fresh))
    expect(missing.length).toBeLessThanOrEqual(5 + 3)
    b.remoteDeltas.receive(contextId, a.contexts.log.signed(contextId, missing).map(({ wire }) => verifyDelta(contextId, wire)))
    a.remoteDeltas.receive(contextId, own(b, contextId))
    expect(root(b, contextId)).toBe(root(a, contextId))
    // bounded: at most maxSamples samples
    expect(b.contexts.log.negotiation(contextId, heads(b), { maxSamples: 2 }).length).toBeLessThanOrEqual(heads(b).length + 2)
    // the samples come from the depth index, one per doubling of the distance below the top head
    const depthOf = (id: Buffer) => b.contexts.log.header(contextId, id)!.depth
    const top = Math.max(...heads(b).map(depthOf))
    const samples = have.slice(heads(b).length).map(depthOf)
    expect(samples.length).toBeGreaterThan(2)
    samples.forEach((d, i) => expect(d).toBeLessThanOrEqual(top - 2 ** i))
  })

  it('a context whose deltas predate the depth index is still negotiated, by a bounded walk', async () => {
    const { nodes, contextId } = await cluster()
    const [a] = nodes as [MeroNode]
    for (let i = 0; i < 20; i++) await a.contexts.execute(contextId, 'set', { key: `k-${i}`, value: 'a' })
    const heads = a.contexts.require(contextId).heads
    const indexed = a.contexts.log.negotiation(contextId, heads)
    // as an earlier build left it: the deltas without their index rows
    a.store.deletePrefix('deltaDepth', contextId)
    const walked = a.contexts.log.negotiation(contextId, heads)
    expect(walked.length).toBe(indexed.length)
    const depthOf = (id: Buffer) => a.contexts.log.header(contextId, id)!.depth
    expect(walked.map(depthOf)).toEqual(indexed.map(depthOf))
    expect(a.contexts.log.negotiation(contextId, heads, { maxVisited: 2 }).length).toBeLessThanOrEqual(heads.length + 2)
  })

  it('refuses forged, re-targeted, undecryptable and malformed deltas with a named fault', async () => {
    const { nodes, groupId, contextId } = await cluster()
    const [a] = nodes as [MeroNode]
    await a.contexts.execute(contextId, 'set', { key: 'k', value: 'v' })
    const [v] = own(a, contextId).slice(-1)
    const key = epochKey(a, groupId, contextId)
    const msg = decodeTopicMessage(encodeTopicMessage(sealContextMessage(contextId, key, { type: 'Deltas', deltas: [v!.wire] })))
    if (msg.type !== 'ContextSealed') throw new Error('expected a ContextSealed message')
    expect(msg.keyId).toEqual(key.keyId)
    const plain = openContextMessage(msg, key.key)
    if (plain.type !== 'Deltas') throw new Error('expected deltas')
    expect(verifyDelta(contextId, plain.deltas[0]!).id).toEqual(v!.id)
    const bad = { ...v!.wire, signature: Buffer.from(v!.wire.signature) }
    bad.signature[3]! ^= 1
    expect(() => verifyDelta(contextId, bad)).toThrow(expect.objectContaining({ fault: 'bad_signature' }))
    expect(() => verifyDelta(Buffer.alloc(32, 9), v!.wire)).toThrow(expect.objectContaining({ fault: 'bad_signature' }))
    expect(() => openContextMessage(msg, Buffer.alloc(32, 1))).toThrow(expect.objectContaining({ fault: 'undecryptable' }))
    // moved to another context's topic: the associated data no longer matches
    expect(() => openContextMessage({ ...msg, contextId: Buffer.alloc(32, 9) }, key.key)).toThrow(expect.objectContaining({ fault: 'undecryptable' }))
    const sealed = Buffer.from(msg.sealed)
    sealed[sealed.length - 1]! ^= 1
    expect(() => openContextMessage({ ...msg, sealed }, key.key)).toThrow(expect.objectContaining({ fault: 'undecryptable' }))
    const garbage = signDelta(a.identity, contextId, [], { delta: Buffer.from('not a delta'), events: '[]' })
    expect(() => verifyDelta(contextId, garbage)).toThrow(expect.objectContaining({ fault: 'malformed' }))
  })

  it('seals several deltas in one message; a batch opens whole or is refused', async () => {
    const { nodes, groupId, contextId } = await cluster()
    const [a, b] = nodes as [MeroNode, MeroNode]
    for (let i = 0; i < 4; i++) await a.contexts.execute(contextId, 'set', { key: `batch-${i}`, value: `${i}` })
    const wires = own(a, contextId).slice(-4).map((v) => v.wire)
    const key = epochKey(a, groupId, contextId)
    const msg = decodeTopicMessage(encodeTopicMessage(sealContextMessage(contextId, key, { type: 'Deltas', deltas: wires })))
    if (msg.type !== 'ContextSealed') throw new Error('expected ContextSealed')
    // authors and governance positions travel sealed too
    expect(msg.sealed.includes(a.identity.publicKey)).toBe(false)
    const opened = openContextMessage(msg, key.key)
    expect(opened).toEqual({ type: 'Deltas', deltas: wires })
    b.remoteDeltas.receive(contextId, wires.map((w) => verifyDelta(contextId, w)))
    expect((await b.contexts.execute(contextId, 'get', { key: 'batch-3' })).result).toBe('3')

    const flipped = Buffer.from(msg.sealed)
    flipped[40]! ^= 1
    expect(() => openContextMessage({ ...msg, sealed: flipped }, key.key)).toThrow(expect.objectContaining({ fault: 'undecryptable' }))
    // content that authenticates but is not a strict message
    const aad = Buffer.concat([Buffer.from('c'), contextId])
    const plainOf = (deltas: typeof wires) => encodeContextPlain({ type: 'Deltas', deltas })
    const trailing = { ...msg, sealed: seal(key.key, Buffer.concat([plainOf(wires), Buffer.from([0])]), aad) }
    expect(() => openContextMessage(trailing, key.key)).toThrow(expect.objectContaining({ fault: 'malformed' }))
    const tooMany = plainOf(Array.from({ length: MAX_DELTAS_PER_MESSAGE + 1 }, () => wires[0]!))
    expect(() => openContextMessage({ ...msg, sealed: seal(key.key, tooMany, aad) }, key.key)).toThrow(expect.objectContaining({ fault: 'malformed' }))
    expect(() => openContextMessage({ ...msg, sealed: seal(key.key, plainOf([]), aad) }, key.key)).toThrow(expect.objectContaining({ fault: 'malformed' }))
  })

  it('encodes and strictly decodes the context frames', () => {
    const frames: SyncFrame[] = [
      { type: 'ContextHello', contextId: Buffer.alloc(32, 1) },
      { type: 'ContextHeadsRequest' },
      { type: 'ContextHeads', heads: [Buffer.alloc(32, 2)], depths: [7], rootHash: Buffer.alloc(32, 3), deltaCount: 9 },
      { type: 'DeltaDiffRequest', have: [Buffer.alloc(32, 4)] },
      { type: 'DeltasRequest', ids: [Buffer.alloc(32, 5)] },
      { type: 'Deltas', deltas: [{ author: Buffer.alloc(32, 6), govPosition: [Buffer.alloc(32, 7)], signature: Buffer.alloc(64, 8), payload: Buffer.from('p') }], more: true },
      { type: 'KeyRequest' },
      { type: 'ContextKey', keys: [{ rotation: Buffer.alloc(32, 11), key: Buffer.alloc(32, 9) }], applicationId: Buffer.alloc(32, 10) },
      { type: 'GroupKeysRequest' },
      { type: 'GroupKeys', keys: [] },
      { type: 'SnapshotRequest' },
      { type: 'SnapshotPage', records: [Buffer.from('r')], more: false },
    ]
    for (const f of frames) {
      const bytes = encodeFrame(f)
      expect(decodeFrame(bytes)).toEqual(f)
      expect(() => decodeFrame(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/trailing|bytes/)
      if (bytes.length > 1) expect(() => decodeFrame(bytes.subarray(0, bytes.length - 1))).toThrow()
    }
    expect(() => decodeFrame(encodeFrame({ type: 'ContextHeads', heads: [Buffer.alloc(32)], depths: [], rootHash: Buffer.alloc(32), deltaCount: 0 }))).toThrow(/one depth per head/)
  })
})

/** A syntactically valid delta of `n` writing one entry (what a modified node could send). */
function craftDelta(n: MeroNode, contextId: Buffer): Buffer {
  const session = n.contexts.state(contextId).begin(n.identity.publicKey, new Hlc(n.identity.publicKey))
  session.mapInsert('items', Buffer.from('x'), Buffer.from('y'))
  const res = session.finish()
  const parents = n.contexts.require(contextId).heads
  return encodeDelta({ contextId, parents, hlc: res.hlc!, author: n.identity.publicKey, actions: res.actions })
}
