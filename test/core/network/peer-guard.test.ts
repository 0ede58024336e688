import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { PeerGuard, type PeerBanned } from '../../../src/core/network/peer-guard.js'

const A = '12D3KooWByh6FX6GBjVYAuxvYWVvmB4nL3JZ4ybjMA8sSB99p94g'
const B = '12D3KooWPHrdtr5oupQAeTZgmLy6ZHGiHL2WpEexPbfnaEY5c4pX'

function guard(limits: ConstructorParameters<typeof PeerGuard>[0] = {}) {
  let now = 1_000_000
  const bans: PeerBanned[] = []
  const g = new PeerGuard({ strikesBeforeBan: 5, strikeWindowMs: 10_000, banMs: 60_000, inboundStreamsPerPeer: 3, ...limits }, (e) => bans.push(e), () => now)
  return { g, bans, advance: (ms: number) => (now += ms) }
}

describe('PeerGuard: strikes, bans and streams per peer', () => {
  it('bans a peer at its fifth strike in a burst, for banMs, and lets it back after', () => {
    const { g, bans, advance } = guard()
    for (let i = 0; i < 4; i++) expect(g.strike(A, 'invalid-message')).toBe(false)
    expect(g.isBanned(A)).toBe(false)
    expect(g.strike(A, 'invalid-message')).toBe(true)
    expect(bans).toEqual([{ peerId: A, reason: 'invalid-message', untilMs: 1_060_000, strikes: 5 }])
    expect(g.isBanned(A)).toBe(true)
    expect(g.isBanned(B)).toBe(false)
    expect(g.banned()).toEqual([{ peerId: A, untilMs: 1_060_000, reason: 'invalid-message' }])
    // strikes during a ban change nothing; once it is over, the peer starts afresh
    expect(g.strike(A, 'invalid-message')).toBe(false)
    advance(60_001)
    expect(g.isBanned(A)).toBe(false)
    expect(g.banned()).toEqual([])
    for (let i = 0; i < 4; i++) expect(g.strike(A, 'invalid-message')).toBe(false)
  })

  it('lets strikes leak away: an honest peer that trips now and then is never banned', () => {
    const { g, bans, advance } = guard()
    // one strike every 2.5 s leaks at the rate it comes (5 per 10 s), for a long time
    for (let i = 0; i < 200; i++) {
      g.strike(A, 'invalid-message')
      advance(2_500)
    }
    expect(bans).toEqual([])
    // the same number in a burst is a ban
    for (let i = 0; i < 5; i++) g.strike(B, 'invalid-message')
    expect(bans.map((b) => b.peerId)).toEqual([B])
  })

  it('admits inboundStreamsPerPeer streams of a peer at once; each refusal is a strike; a release frees a place', () => {
    const { g, bans } = guard()
    const releases = [g.admitStream(A), g.admitStream(A), g.admitStream(A)]
    expect(releases.every((r) => typeof r === 'function')).toBe(true)
    expect(g.inboundStreams(A)).toBe(3)
    expect(g.admitStream(A)).toBeUndefined()
    // another peer has its own places
    expect(g.admitStream(B)).toBeTypeOf('function')
    releases[0]!()
    releases[0]!() // twice is once
    expect(g.inboundStreams(A)).toBe(2)
    expect(g.admitStream(A)).toBeTypeOf('function')
    // four more refusals make five strikes: banned, and then nothing is admitted
    for (let i = 0; i < 4; i++) expect(g.admitStream(A)).toBeUndefined()
    expect(bans.map((b) => [b.peerId, b.reason])).toEqual([[A, 'stream-flood']])
    releases[1]!()
    expect(g.admitStream(A)).toBeUndefined()
  })

  it('gates: banned peers are neither dialled nor let in; a peer over its connection limit is refused', () => {
    const { g } = guard({ connectionsPerPeer: 2 })
    const counts = new Map([[A, 2]])
    g.countConnectionsWith((p) => counts.get(p) ?? 0)
    const gater = g.gater()
    const a = peerIdFromString(A)
    const b = peerIdFromString(B)
    expect(gater.denyInboundUpgradedConnection!(a, {} as never)).toBe(true)
    expect(gater.denyInboundUpgradedConnection!(b, {} as never)).toBe(false)
    expect(gater.denyDialPeer!(b)).toBe(false)
    for (let i = 0; i < 5; i++) g.strike(B, 'malformed-frame')
    expect(gater.denyDialPeer!(b)).toBe(true)
    expect(gater.denyInboundEncryptedConnection!(b, {} as never)).toBe(true)
    expect(gater.denyInboundRelayedConnection!(a, b)).toBe(true)
  })

  it('refuses limits that are not positive integers', () => {
    expect(() => new PeerGuard({ banMs: 0 })).toThrow(/banMs/)
    expect(() => new PeerGuard({ inboundStreamsPerPeer: 1.5 })).toThrow(/inboundStreamsPerPeer/)
  })
})
