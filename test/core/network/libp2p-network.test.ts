import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { keyPairFromSeed } from '../../../src/core/crypto/ed25519.js'
import { NetworkMetrics } from '../../../src/core/network/metrics.js'
import { Libp2pNetwork } from '../../../src/core/network/libp2p-network.js'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { peerIdFromPublicKey } from '../../../src/core/primitives/ids.js'
import { addressOf, inbox, meshOn, Nodes, sleep, waitFor } from './helpers.js'

const nodes = new Nodes()
afterEach(() => nodes.stopAll())

const bytes = (s: string) => new Uint8Array(Buffer.from(s))
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8')

async function rejection(p: Promise<unknown>): Promise<MeroError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(MeroError)
    return e as MeroError
  }
  throw new Error('expected a rejection')
}

describe('Libp2pNetwork: identity, connections, peers', () => {
  it('uses the node key as its peer id, listens on an ephemeral port and connects', async () => {
    const seed = randomBytes(32)
    const before = new Libp2pNetwork({ seed, listen: [] }).peerId
    const a = await nodes.start({ seed })
    expect(before).toBe(a.peerId)
    const b = await nodes.start()
    expect(a.peerId).toBe(peerIdFromPublicKey(keyPairFromSeed(seed).publicKey))
    expect(a.listenAddresses()[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/[1-9]\d*$/)

    const connected: string[] = []
    b.on('peer:connected', (e) => connected.push(e.peerId))
    expect(await a.connect(addressOf(b))).toBe(b.peerId)
    await waitFor(() => connected.includes(a.peerId), 'b to see a connect')
    expect(a.peers().map((p) => p.peerId)).toEqual([b.peerId])
    expect(a.peers()[0]!.addresses[0]).toContain('/tcp/')
    expect(b.connectedPeers()).toEqual([a.peerId])
    const rtt = await a.ping(b.peerId)
    expect(Number.isFinite(rtt) && rtt >= 0).toBe(true)
    // pings at once share the peer's one outbound ping stream with libp2p's connection monitor
    // (which cuts the connection when its own ping fails): they wait for each other instead
    const rtts = await Promise.all(Array.from({ length: 5 }, () => a.ping(b.peerId)))
    for (const r of rtts) expect(r).toBeGreaterThanOrEqual(0)
    expect(a.connectedPeers()).toEqual([b.peerId])

    const gone: string[] = []
    a.on('peer:disconnected', (e) => gone.push(e.peerId))
    await b.stop()
    await waitFor(() => gone.includes(b.peerId), 'a to see b disconnect')
  })

  it('refuses bad keys, addresses and peer ids with errors that name them', async () => {
    expect(() => new Libp2pNetwork({ seed: new Uint8Array(31), listen: [] })).toThrow(/32-byte/)
    expect(() => new Libp2pNetwork({ seed: randomBytes(32), listen: ['not-a-multiaddr'] })).toThrow(/listen address "not-a-multiaddr"/)
    expect(() => new Libp2pNetwork({ seed: randomBytes(32), listen: [], bootstrap: ['/ip4/1.2.3'] })).toThrow(/bootstrap address/)
    const a = await nodes.start()
    expect((await rejection(a.connect('garbage'))).kind).toBe('InvalidInput')
    expect((await rejection(a.request('not-a-peer-id', '/x/1', []))).kind).toBe('InvalidInput')
    expect(() => a.subscribe('')).toThrow(/topic/)
  })

  it('refuses a QUIC listen address while the optional QUIC package is not installed, naming it', async () => {
    const quic = new Libp2pNetwork({ seed: randomBytes(32), listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] })
    const e = await rejection(quic.start())
    expect(e.kind).toBe('ConfigInvalid')
    expect(e.message).toMatch(/@chainsafe\/libp2p-quic/)
    await quic.stop()
  })

  it('dials a peer from invitation hints: tries each address, appends the peer id, checks who answers', async () => {
    const a = await nodes.start({ dialTimeoutMs: 1_000 })
    const b = await nodes.start()
    const c = await nodes.start()
    const dead = '/ip4/127.0.0.1/tcp/1'
    // c's address, claimed to be b's: the handshake refuses the wrong key
    const wrong = await rejection(a.dialPeer({ peerId: b.peerId, addresses: [c.listenAddresses()[0]!] }))
    expect(wrong.kind).toBe('PeerUnreachable')
    expect(a.connectedPeers()).not.toContain(b.peerId)
    expect(await a.dialPeer({ peerId: b.peerId, addresses: [dead, b.listenAddresses()[0]!] })).toBe(b.peerId)
    expect(a.connectedPeers()).toContain(b.peerId)
    const unreachable = await rejection(a.dialPeer({ addresses: [dead] }))
    expect(unreachable.kind).toBe('PeerUnreachable')
    expect(unreachable.message).toContain('cannot reach')
    expect((await rejection(a.dialPeer({ addresses: [] }))).kind).toBe('PeerUnreachable')
  })

  it('dials its bootstrap peers at start (options left undefined take their defaults)', async () => {
    const a = await nodes.start({ bootstrap: undefined, dialTimeoutMs: undefined, requestTimeoutMs: undefined })
    const b = await nodes.start({ bootstrap: [addressOf(a)], dialTimeoutMs: undefined, redialMs: undefined })
    await waitFor(() => b.connectedPeers().includes(a.peerId), 'the bootstrap connection')
  })

  it('finds content providers through the DHT (a and c only know each other through b)', async () => {
    const [a, b, c] = [await nodes.start(), await nodes.start(), await nodes.start()]
    await a.connect(addressOf(b))
    await c.connect(addressOf(b))
    const blob = randomBytes(32)
    // the DHT learns its peers through identify, just after the connection
    await waitFor(() => a.peers().length === 1 && c.peers().length === 1, 'connections')
    // the DHT adds b to its routing tables once identify has run: announce until b holds the record
    let found: Awaited<ReturnType<typeof c.routing.findProviders>> = []
    for (let attempt = 0; attempt < 20 && found.length === 0; attempt++) {
      await a.routing.provide(blob)
      found = await c.routing.findProviders(blob, { timeoutMs: 1_000 })
    }
    expect(found.map((p) => p.peerId)).toEqual([a.peerId])
    expect(found[0]!.addresses).toContain(a.listenAddresses()[0])
    expect(await c.dialPeer(found[0]!)).toBe(a.peerId)
    expect(await c.routing.findProviders(randomBytes(32), { timeoutMs: 1_000 })).toEqual([])
    await expect(c.routing.findProviders(new Uint8Array(5))).rejects.toThrow(/32 bytes/)
    // withdrawing drops a's own record (the records b and c stored expire on their own)
    await a.routing.withdraw(blob)
    await a.routing.withdraw(randomBytes(32)) // never provided: nothing to do
    await expect(a.routing.withdraw(new Uint8Array(5))).rejects.toThrow(/32 bytes/)
  })

  it('stops with peers connected, and frees its port', async () => {
    const port = await freePort()
    const a = await nodes.start({ listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const b = await nodes.start()
    const c = await nodes.start()
    await b.connect(addressOf(a))
    await c.connect(addressOf(a))
    a.subscribe('t')
    // (how long it takes is network.stop_with_peers in bench/gossip-raw.bench.mjs)
    await a.stop()
    expect(a.listenAddresses()).toEqual([])
    expect((await rejection(a.publish('t', bytes('x')))).kind).toBe('Unavailable')
    const again = await nodes.start({ listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    expect(again.listenAddresses()[0]).toBe(`/ip4/127.0.0.1/tcp/${port}`)
  })
})

describe('Libp2pNetwork: gossip', () => {
  it('delivers both ways on a topic, and across a relay node with three nodes', async () => {
    const [a, b, c] = [await nodes.start(), await nodes.start(), await nodes.start()]
    const [inA, inB, inC] = [inbox(a), inbox(b), inbox(c)]
    for (const n of [a, b, c]) n.subscribe('mero/group/t1')
    await meshOn('mero/group/t1', a, b)
    await meshOn('mero/group/t1', b, c) // a and c are not connected: b relays
    expect(a.connectedPeers()).not.toContain(c.peerId)

    expect(await a.publish('mero/group/t1', bytes('from a'))).toBeGreaterThanOrEqual(1)
    await b.publish('mero/group/t1', bytes('from b'))
    await waitFor(() => inB.length === 1 && inA.length === 1 && inC.length === 2, 'three deliveries')
    expect(text(inB[0]!.data)).toBe('from a')
    expect(inB[0]).toMatchObject({ topic: 'mero/group/t1', from: a.peerId })
    expect(inB[0]!.msgId).toBeTruthy()
    expect(text(inA[0]!.data)).toBe('from b')
    expect(inC.map((m) => text(m.data)).sort()).toEqual(['from a', 'from b'])
    expect(inC.find((m) => text(m.data) === 'from a')!.from).toBe(b.peerId)
    expect(a.metrics.snapshot().messagesOut).toBe(1)
    expect(c.metrics.snapshot().messagesIn).toBe(2)
  })

  it('counts the copies of a message received after the first (gossip amplification), delivering it once', async () => {
    const [a, b, c] = [await nodes.start(), await nodes.start(), await nodes.start()]
    const inC = inbox(c)
    for (const n of [a, b, c]) n.subscribe('mero/ctx/amp')
    await meshOn('mero/ctx/amp', a, b)
    await meshOn('mero/ctx/amp', b, c)
    await meshOn('mero/ctx/amp', a, c)
    // a floods its message to b and c; each forwards it to its other mesh peer, which had it
    for (let i = 0; i < 5; i++) await a.publish('mero/ctx/amp', bytes(`m${i}`))
    await waitFor(() => inC.length === 5 && b.metrics.snapshot().duplicatesIn + c.metrics.snapshot().duplicatesIn >= 5, 'the copies to arrive')
    expect(c.metrics.snapshot().messagesIn).toBe(5)
  })

  it('treats identical payloads as one message, and lets a node alone in a topic publish', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    expect(await a.publish('alone', bytes('nobody listens'))).toBe(0)
    const [inA, inB] = [inbox(a), inbox(b)]
    for (const n of [a, b]) n.subscribe('dup')
    await meshOn('dup', a, b)
    await a.publish('dup', bytes('same'))
    await a.publish('dup', bytes('same'))
    await waitFor(() => inB.length > 0, 'the first payload')
    // the same payload published by b: b has it already, a too (its own message)
    await b.publish('dup', bytes('same'))
    await a.publish('dup', bytes('other'))
    await b.publish('dup', bytes('from b'))
    await waitFor(() => inB.some((m) => text(m.data) === 'other') && inA.length > 0, 'the later payloads')
    // a last message each way: a duplicate delivered late would have come before it (one stream per peer)
    await a.publish('dup', bytes('end a'))
    await b.publish('dup', bytes('end b'))
    await waitFor(() => inB.some((m) => text(m.data) === 'end a') && inA.some((m) => text(m.data) === 'end b'), 'the last messages')
    expect(inB.map((m) => text(m.data))).toEqual(['same', 'other', 'end a'])
    expect(inA.map((m) => text(m.data))).toEqual(['from b', 'end b'])
  })

  it('stops delivering after unsubscribe (while a still-subscribed peer keeps receiving)', async () => {
    const [a, b, c] = [await nodes.start(), await nodes.start(), await nodes.start()]
    const [inB, inC] = [inbox(b), inbox(c)]
    for (const n of [a, b, c]) n.subscribe('u')
    // b also follows another topic: what a sends there after the second message shows that
    // nothing of 'u' is still on its way to b
    for (const n of [a, b]) n.subscribe('u-probe')
    await meshOn('u', a, b)
    await meshOn('u-probe', a, b)
    await meshOn('u', a, c)
    await a.publish('u', bytes('1'))
    await waitFor(() => inB.length === 1 && inC.length === 1, 'first message')

    b.unsubscribe('u')
    expect(b.subscriptions()).toEqual(['u-probe'])
    await waitFor(() => !a.topicPeers('u').includes(b.peerId), 'a to learn b left the topic')
    await a.publish('u', bytes('2'))
    await waitFor(() => inC.length === 2, 'c to get the second message')
    await a.publish('u-probe', bytes('probe'))
    await waitFor(() => inB.some((m) => m.topic === 'u-probe'), 'b to get the probe')
    expect(inB.map((m) => text(m.data))).toEqual(['1', 'probe'])
  })

  it('runs the validation hook: rejected and ignored messages are not delivered, and are counted', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    const seen: string[] = []
    b.setValidator((m) => {
      seen.push(`${m.topic}:${text(m.data)}:${m.from === a.peerId}`)
      const t = text(m.data)
      return t.startsWith('bad') ? 'reject' : t.startsWith('meh') ? 'ignore' : 'accept'
    })
    const inB = inbox(b)
    for (const n of [a, b]) n.subscribe('v')
    await meshOn('v', a, b)
    for (const m of ['bad 1', 'meh 1', 'good 1']) await a.publish('v', bytes(m))
    await waitFor(() => inB.length === 1, 'the accepted message')
    expect(text(inB[0]!.data)).toBe('good 1')
    expect(seen).toEqual(['v:bad 1:true', 'v:meh 1:true', 'v:good 1:true'])
    expect(b.metrics.snapshot().dropped).toEqual({ rejected: 1, ignored: 1 })
  })

  it('does not forward what its validator rejects', async () => {
    const [a, b, c] = [await nodes.start(), await nodes.start(), await nodes.start()]
    b.setValidator((m) => (text(m.data).startsWith('bad') ? 'reject' : 'accept'))
    const inC = inbox(c)
    for (const n of [a, b, c]) n.subscribe('fwd')
    await meshOn('fwd', a, b)
    await meshOn('fwd', b, c) // c hears a only through b
    await a.publish('fwd', bytes('bad one'))
    await a.publish('fwd', bytes('good one'))
    await a.publish('fwd', bytes('good two'))
    // b forwards in order on its one stream to c: once the last one is there, a forwarded bad one would be too
    await waitFor(() => inC.length === 2, 'the good messages at c')
    expect(inC.map((m) => text(m.data))).toEqual(['good one', 'good two'])
    expect(b.metrics.snapshot().dropped.rejected).toBe(1)
  })

  it('disconnects a peer that keeps delivering messages its validators reject, and refuses it for a while', async () => {
    const b = await nodes.start({ limits: { strikesBeforeBan: 5, banMs: 60_000 } })
    const a = await nodes.start()
    b.setValidator((m) => (text(m.data).startsWith('bad') ? 'reject' : 'accept'))
    const banned: string[] = []
    b.on('peer:banned', (e) => banned.push(`${e.peerId}:${e.reason}`))
    for (const n of [a, b]) n.subscribe('strikes')
    await meshOn('strikes', a, b)
    // four rejects are tolerated
    for (let i = 0; i < 4; i++) await a.publish('strikes', bytes(`bad ${i}`))
    await waitFor(() => b.metrics.snapshot().dropped.rejected === 4, 'four rejects')
    expect(b.connectedPeers()).toEqual([a.peerId])
    await a.publish('strikes', bytes('bad 4'))
    await waitFor(() => b.connectedPeers().length === 0, 'the ban to hang up')
    expect(banned).toEqual([`${a.peerId}:invalid-message`])
    expect(b.status().banned.map((x) => x.peerId)).toEqual([a.peerId])
    // a redial does not get a connection to stay
    await a.connect(addressOf(b)).catch(() => undefined)
    await sleep(200)
    expect(b.connectedPeers()).toEqual([])
  })

  it('runs a validator per topic prefix, with the node-wide one; the strictest verdict wins; removal stops it', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    const seen: string[] = []
    const off = b.pubsub.addValidator('grp/', (m) => {
      seen.push(`grp:${text(m.data)}`)
      return text(m.data).startsWith('bad') ? 'reject' : 'accept'
    })
    b.setValidator((m) => (text(m.data).startsWith('meh') ? 'ignore' : 'accept'))
    const inB = inbox(b)
    for (const n of [a, b]) {
      n.subscribe('grp/1')
      n.subscribe('other')
    }
    await meshOn('grp/1', a, b)
    await meshOn('other', a, b)
    for (const m of ['bad 1', 'meh 1', 'good 1']) await a.publish('grp/1', bytes(m))
    await a.publish('other', bytes('bad but not a group topic'))
    await waitFor(() => inB.length === 2, 'the accepted messages')
    expect(inB.map((m) => `${m.topic}:${text(m.data)}`).sort()).toEqual(['grp/1:good 1', 'other:bad but not a group topic'])
    // the prefix validator saw only its topics; the node-wide one is not asked after a reject
    expect(seen).toEqual(['grp:bad 1', 'grp:meh 1', 'grp:good 1'])
    expect(b.metrics.snapshot().dropped).toEqual({ rejected: 1, ignored: 1 })

    off()
    await a.publish('grp/1', bytes('bad 2'))
    await waitFor(() => inB.length === 3, 'the message once the prefix validator is removed')
    expect(text(inB[2]!.data)).toBe('bad 2')
    expect(seen).toHaveLength(3)
  })

  it('counts an async validator that throws as validator-error and does not deliver', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    b.pubsub.addValidator('t', async (m) => {
      if (text(m.data) === 'boom') throw new Error('boom')
      return 'accept'
    })
    const inB = inbox(b)
    for (const n of [a, b]) n.subscribe('t1')
    await meshOn('t1', a, b)
    await a.publish('t1', bytes('boom'))
    await a.publish('t1', bytes('fine'))
    await waitFor(() => inB.length === 1, 'the good message')
    expect(text(inB[0]!.data)).toBe('fine')
    expect(b.metrics.snapshot().dropped).toEqual({ 'validator-error': 1 })
  })

  it('caps message size: publish refuses, and a receiver with a smaller cap drops and counts', async () => {
    const a = await nodes.start({ maxMessageBytes: 4096 })
    const b = await nodes.start({ maxMessageBytes: 1024 })
    const inB = inbox(b)
    for (const n of [a, b]) n.subscribe('big')
    await meshOn('big', a, b)
    const refused = await rejection(a.publish('big', new Uint8Array(4097)))
    expect(refused.kind).toBe('LimitExceeded')
    expect(refused.message).toContain('4097')
    await a.publish('big', new Uint8Array(2048).fill(1))
    await a.publish('big', new Uint8Array(1024).fill(2))
    await waitFor(() => inB.length === 1, 'the message within the cap')
    expect(inB[0]!.data.byteLength).toBe(1024)
    await waitFor(() => b.metrics.snapshot().dropped.oversize === 1, 'the oversize drop to be counted')
  })

  it('mirrors its counters on a prom-client registry', async () => {
    const registry = new Registry()
    const a = await nodes.start({ metrics: new NetworkMetrics(registry) })
    a.subscribe('mero/ctx/abc')
    await a.publish('mero/ctx/abc', bytes('x'))
    const text = await registry.metrics()
    expect(text).toContain('merod_gossip_messages_out_total{topic="mero/ctx"} 1')
  })

  it('mirrors on a registry given later, starting from what was counted before', async () => {
    const metrics = new NetworkMetrics()
    const a = await nodes.start({ metrics })
    a.subscribe('mero/group/abc')
    await a.publish('mero/group/abc', bytes('x'))
    await a.publish('mero/group/abc', bytes('y'))
    metrics.dropped('busy')
    metrics.request('/p/1', 'inbound', 'ok')
    const registry = new Registry()
    metrics.register(registry)
    metrics.register(new Registry()) // once: a second registry is ignored
    await a.publish('mero/group/abc', bytes('z'))
    const out = await registry.metrics()
    expect(out).toContain('merod_gossip_messages_out_total{topic="mero/group"} 3')
    expect(out).toContain('merod_network_dropped_total{reason="busy",topic=""} 1')
    expect(out).toContain('merod_stream_requests_total{protocol="/p/1",direction="inbound",outcome="ok"} 1')
    expect(metrics.snapshot().messagesOut).toBe(3)
  })
})

describe('Libp2pNetwork: request/response over streams', () => {
  it('round-trips several frames, including empty ones, and reports handler errors by kind', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    await b.serveRequests('/test/echo/1.0.0', ({ frames, peerId, protocol }) => {
      if (text(frames[0] ?? new Uint8Array()) === 'deny') throw new MeroError('NotAuthorized', 'not a member')
      return [bytes(`${protocol} from ${peerId === a.peerId ? 'a' : '?'}`), ...frames.reverse()]
    })
    await a.connect(addressOf(b))
    const out = await a.request(b.peerId, '/test/echo/1.0.0', [bytes('one'), new Uint8Array(0), bytes('three')])
    expect(out.map(text)).toEqual(['/test/echo/1.0.0 from a', 'three', '', 'one'])
    expect(await a.request(b.peerId, '/test/echo/1.0.0', [])).toHaveLength(1)
    // frames above lpStream's default 4 MiB read buffer, within our 8 MiB frame limit
    const big = new Uint8Array(5 * 1024 * 1024).fill(7)
    const echoed = await a.request(b.peerId, '/test/echo/1.0.0', [big, big])
    expect(echoed.slice(1).map((f) => f.byteLength)).toEqual([big.byteLength, big.byteLength])
    expect(echoed[2]!.every((x) => x === 7)).toBe(true)

    const denied = await rejection(a.request(b.peerId, '/test/echo/1.0.0', [bytes('deny')]))
    expect(denied.kind).toBe('NotAuthorized')
    expect(denied.message).toContain('not a member')
    expect(b.metrics.snapshot().requests).toMatchObject({ 'inbound /test/echo/1.0.0 ok': 3, 'inbound /test/echo/1.0.0 error': 1 })
    expect(a.metrics.snapshot().requests).toMatchObject({ 'outbound /test/echo/1.0.0 ok': 3, 'outbound /test/echo/1.0.0 refused': 1 })
  })

  it('dials the given addresses when the peer is not connected, and fails cleanly on an unknown protocol', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    await b.serveRequests('/test/one/1.0.0', () => [bytes('ok')])
    const out = await a.request(b.peerId, '/test/one/1.0.0', [], { addresses: b.listenAddresses() })
    expect(out.map(text)).toEqual(['ok'])
    const e = await rejection(a.request(b.peerId, '/test/none/1.0.0', []))
    expect(e.kind).toBe('PeerUnreachable')
  })

  it('refuses oversized frames on both sides', async () => {
    const a = await nodes.start({ maxFrameBytes: 64 * 1024 })
    const b = await nodes.start({ maxFrameBytes: 1024 })
    let handled = 0
    await b.serveRequests('/test/size/1.0.0', ({ frames }) => {
      handled++
      return frames[0]!.byteLength === 1 ? [new Uint8Array(2048)] : [bytes('ok')]
    })
    await a.serveRequests('/test/size/1.0.0', () => [new Uint8Array(2048)])
    await a.connect(addressOf(b))
    // b refuses to read a 2 KiB frame: the stream is aborted, the handler never runs
    const tooBig = await rejection(a.request(b.peerId, '/test/size/1.0.0', [new Uint8Array(2048)]))
    expect(['PeerUnreachable', 'Unavailable']).toContain(tooBig.kind)
    expect(handled).toBe(0)
    await waitFor(() => b.metrics.snapshot().requests['inbound /test/size/1.0.0 error'] === 1, 'b to count the failed request')
    // the sender refuses to write a frame over its own limit, before anything is sent
    expect((await rejection(a.request(b.peerId, '/test/size/1.0.0', [new Uint8Array(64 * 1024 + 1)]))).kind).toBe('LimitExceeded')
    // b's handler answers with a frame over b's limit: b sends a typed error instead
    const e = await rejection(a.request(b.peerId, '/test/size/1.0.0', [new Uint8Array(1)]))
    expect(e.kind).toBe('LimitExceeded')
    expect(e.message).toContain('response frame of 2048 bytes')
    // a answers b with a frame within a's limit but over b's: b refuses to read it
    const over = await rejection(b.request(a.peerId, '/test/size/1.0.0', []))
    expect(over.kind).toBe('LimitExceeded')
    expect(over.message).toContain('larger than 1024 bytes')
    // and a frame within the limits still goes through on the same connection
    expect((await a.request(b.peerId, '/test/size/1.0.0', [new Uint8Array(100)])).map(text)).toEqual(['ok'])
  })

  it('times out on a silent handler, aborting the handler signal', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    let aborted = false
    await b.serveRequests(
      '/test/silent/1.0.0',
      ({ signal }) =>
        new Promise<Uint8Array[]>(() => {
          signal.addEventListener('abort', () => (aborted = true))
        }),
      { timeoutMs: 400 },
    )
    await a.connect(addressOf(b))
    const t0 = performance.now()
    const e = await rejection(a.request(b.peerId, '/test/silent/1.0.0', [bytes('?')], { timeoutMs: 300 }))
    const took = performance.now() - t0
    expect(e.kind).toBe('Timeout')
    expect(e.message).toContain('300 ms')
    expect(took).toBeGreaterThanOrEqual(290) // it waited for its own timeout (the handler's is 400 ms)
    await waitFor(() => aborted, 'the handler signal to abort', 2_000)
    await waitFor(() => b.metrics.snapshot().requests['inbound /test/silent/1.0.0 timeout'] === 1, 'b to count the timeout', 2_000)
  })

  it('bounds concurrent inbound requests per protocol: the extra one is told the protocol is busy', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let running = 0
    await b.serveRequests(
      '/test/slow/1.0.0',
      async () => {
        running++
        await gate
        return [bytes('done')]
      },
      { maxConcurrent: 2 },
    )
    const refused: { peerId: string; protocol: string }[] = []
    b.on('stream:refused', (e) => refused.push(e))
    await a.connect(addressOf(b))
    const first = [a.request(b.peerId, '/test/slow/1.0.0', []), a.request(b.peerId, '/test/slow/1.0.0', [])]
    await waitFor(() => running === 2, 'two handlers running')
    const busy = await rejection(a.request(b.peerId, '/test/slow/1.0.0', []))
    expect(busy.kind).toBe('Unavailable')
    expect(busy.message).toContain('busy')
    expect(b.metrics.snapshot().dropped.busy).toBe(1)
    expect(refused).toEqual([{ peerId: a.peerId, protocol: '/test/slow/1.0.0' }]) // the node reports it: peer.rate_limited
    release()
    expect((await Promise.all(first)).map((r) => text(r[0]!))).toEqual(['done', 'done'])
    expect((await a.request(b.peerId, '/test/slow/1.0.0', []))[0]).toBeDefined()
  })

  it('queues outbound requests beyond maxOutboundRequests per peer instead of overrunning the peer', async () => {
    const a = await nodes.start({ maxOutboundRequests: 4 })
    const b = await nodes.start()
    let running = 0
    let most = 0
    await b.serveRequests('/test/many/1.0.0', async ({ frames }) => {
      most = Math.max(most, ++running)
      await sleep(2)
      running--
      return frames
    })
    await a.connect(addressOf(b))
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => a.request(b.peerId, '/test/many/1.0.0', [bytes(String(i))])))
    expect(replies.map((r) => text(r[0]!))).toEqual(Array.from({ length: 100 }, (_, i) => String(i)))
    expect(most).toBeLessThanOrEqual(4)
    expect(most).toBeGreaterThan(1)
    // a queued request still times out on its own clock
    await b.serveRequests('/test/stuck/1.0.0', () => new Promise<Uint8Array[]>(() => undefined), { timeoutMs: 2_000 })
    const stuck = Array.from({ length: 5 }, () => rejection(a.request(b.peerId, '/test/stuck/1.0.0', [], { timeoutMs: 300 })))
    expect((await Promise.all(stuck)).map((e) => e.kind)).toEqual(Array(5).fill('Timeout'))
  })

  it('carries a conversation on a frame channel', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    await b.handle('/test/chat/1.0.0', async (ch, peerId) => {
      expect(peerId).toBe(a.peerId)
      for (;;) {
        const f = text(await ch.receive(2_000))
        if (f === 'bye') break
        await ch.send(bytes(f.toUpperCase()))
      }
      ch.close()
    })
    const ch = await a.open(b.peerId, '/test/chat/1.0.0', b.listenAddresses())
    const replies: string[] = []
    for (const w of ['hello', 'mero']) {
      await ch.send(bytes(w))
      replies.push(text(await ch.receive(2_000)))
    }
    await ch.send(bytes('bye'))
    expect(replies).toEqual(['HELLO', 'MERO'])
    const end = await rejection(ch.receive(2_000))
    expect(end.kind).toBe('Unavailable')
    ch.close()
  })

  it('keeps its handlers and topics across a stop and a start', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    await b.serveRequests('/test/again/1.0.0', () => [bytes('yes')])
    b.subscribe('again')
    await b.stop()
    await b.start()
    a.subscribe('again')
    const inB = inbox(b)
    await meshOn('again', a, b)
    expect(text((await a.request(b.peerId, '/test/again/1.0.0', []))[0]!)).toBe('yes')
    await a.publish('again', bytes('hi'))
    await waitFor(() => inB.length === 1, 'delivery after the restart')
  })

  it('cuts in-flight requests short when the node stops', async () => {
    const [a, b] = [await nodes.start(), await nodes.start()]
    let handling = false
    await b.serveRequests(
      '/test/never/1.0.0',
      () => {
        handling = true
        return new Promise<Uint8Array[]>(() => undefined)
      },
      { timeoutMs: 5_000 },
    )
    await a.connect(addressOf(b))
    const pending = rejection(a.request(b.peerId, '/test/never/1.0.0', [], { timeoutMs: 5_000 }))
    await waitFor(() => handling, 'the request to reach b')
    await a.stop()
    // cut short by the stop, not by its own 5 s timeout (that would be a Timeout)
    const e = await pending
    expect(e.kind).toBe('Unavailable')
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}
