import { afterAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import { VerifierPool } from '../../../src/core/crypto/verifier-pool.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { createInvitation, invitationId } from '../../../src/core/governance/invitation.js'
import { invitationAuth, memberAuth } from '../../../src/core/governance/stream-auth.js'
import { catchUpGroup, ingestPages, serveGroupSync } from '../../../src/core/sync/group-sync.js'
import { decodeFrame, decodeTopicMessage, encodeTopicMessage } from '../../../src/core/sync/wire.js'
import { framePair } from '../../helpers/frame-pair.js'
import { viewOf } from '../governance/helpers.js'

const owner = generateKeyPair()
const member = generateKeyPair()
const joiner = generateKeyPair()
const stranger = generateKeyPair()
/** The serving node's peer id: what a requester's proof names. */
const server = 'the-server'

function history(n: number) {
  const a = new GroupStore()
  const { groupId } = a.createGroup(owner)
  a.issue(groupId, owner, { kind: 'MemberAdded', member: member.publicKey, role: 'member' })
  for (let i = 0; i < n; i++) a.issue(groupId, owner, { kind: 'GroupAliasSet', alias: `g${i}` })
  return { a, groupId }
}

function sync(serving: GroupStore, client: GroupStore, groupId: Buffer, auth = memberAuth(member, server), pool?: VerifierPool, self = server) {
  const [c, s] = framePair()
  const served = serveGroupSync(s, serving, { self, timeoutMs: 2_000 })
  const fetched = catchUpGroup(c, client, groupId, auth, { pool, timeoutMs: 2_000 })
  return Promise.all([fetched, served])
}

describe('group catch-up protocol', () => {
  const pools: VerifierPool[] = []
  afterAll(async () => {
    for (const p of pools) await p.close()
  })
  const newPool = () => {
    const p = new VerifierPool(2)
    pools.push(p)
    return p
  }

  it('a member that missed 1,200 ops catches up to the same state in pages, verifying inline (too short to start the workers)', async () => {
    const pool = newPool()
    const { a, groupId } = history(1200)
    const b = new GroupStore()
    b.ingest(a.getOps(groupId, a.ops(groupId).slice(0, 10).map((o) => o.opId)))
    const [res, served] = await sync(a, b, groupId, memberAuth(member, server), pool)
    expect(res).toMatchObject({ applied: 1192, rejected: 0, invalid: 0 })
    expect(served.served).toBe(1192)
    expect(viewOf(b, groupId).stateHash).toBe(viewOf(a, groupId).stateHash)
    expect(pool.running).toBe(0)
    expect(pool.stats).toEqual({ inline: 1192, onWorkers: 0 })
    // nothing to do the second time
    expect((await sync(a, b, groupId))[0].fetched).toBe(0)
  })

  it('a catch-up of more than 2,000 ops starts the workers and verifies its pages there', async () => {
    const pool = newPool()
    const { a, groupId } = history(2600)
    const ops = a.ops(groupId)
    const b = new GroupStore()
    const [res] = await sync(a, b, groupId, memberAuth(member, server), pool)
    expect(res).toMatchObject({ fetched: ops.length, applied: ops.length, rejected: 0, invalid: 0 })
    expect(viewOf(b, groupId).stateHash).toBe(viewOf(a, groupId).stateHash)
    expect(pool.running).toBe(2)
    // pages of 500: all of them on the workers (only a page under 32 ops would stay inline)
    expect(pool.stats).toEqual({ inline: 0, onWorkers: ops.length })
  })

  it('ingestPages checks the next page on the workers while it applies one; an op they refuse is reported invalid and the rest wait for it', async () => {
    const pool = newPool()
    pool.warm()
    const { a, groupId } = history(1500)
    const payloads = a.getOps(groupId, a.ops(groupId).map((o) => o.opId))
    const forged = Buffer.from(payloads[700]!)
    forged[forged.length - 2]! ^= 0xff
    async function* pages() {
      const all = [...payloads.slice(0, 700), forged, ...payloads.slice(701)]
      for (let i = 0; i < all.length; i += 500) yield all.slice(i, i + 500)
    }
    const b = new GroupStore()
    const outcomes: string[] = []
    const sentAhead: number[] = []
    for await (const page of ingestPages(b, pages(), pool)) {
      sentAhead.push(pool.stats.onWorkers)
      for (const o of page) outcomes.push(o.status)
    }
    // when a page's outcomes come, the page after it has gone to the workers already
    expect(sentAhead).toEqual([1000, 1500, 1500, 1500])
    expect(outcomes).toHaveLength(payloads.length)
    expect(outcomes[700]).toBe('invalid')
    // every op after the forged one waits for it (its parent): none is lost, none applied out of order
    expect(outcomes.slice(0, 700).every((s) => s === 'applied')).toBe(true)
    expect(outcomes.slice(701).every((s) => s === 'pending')).toBe(true)
    // three pages of 500 on the workers; the last page of 2 ops was not worth a round trip
    expect(pool.stats).toEqual({ inline: 2, onWorkers: 1500 })
    // the genuine op, once it comes, releases them all
    expect(b.ingest([payloads[700]!])[0]!.status).toBe('applied')
    expect(viewOf(b, groupId).stateHash).toBe(viewOf(a, groupId).stateHash)
  })

  it('ingestPages applies every page that came whole when the stream breaks after it', async () => {
    const pool = newPool()
    pool.warm()
    const { a, groupId } = history(1100)
    const payloads = a.getOps(groupId, a.ops(groupId).map((o) => o.opId))
    async function* pages() {
      yield payloads.slice(0, 500)
      yield payloads.slice(500, 1000)
      throw new Error('the stream was closed by the peer')
    }
    const b = new GroupStore()
    const applied: number[] = []
    await expect(
      (async () => {
        for await (const page of ingestPages(b, pages(), pool)) applied.push(page.filter((o) => o.status === 'applied').length)
      })(),
    ).rejects.toThrow(/closed by the peer/)
    expect(applied).toEqual([500, 500])
    expect(viewOf(b, groupId).opCount).toBe(1000)
  })

  it('both sides converge when each holds ops the other lacks', async () => {
    const { a, groupId } = history(5)
    const b = new GroupStore()
    await sync(a, b, groupId)
    a.issue(groupId, owner, { kind: 'GroupAliasSet', alias: 'from-a' })
    b.issue(groupId, member, { kind: 'MemberAliasSet', member: member.publicKey, alias: 'from-b' })
    await sync(a, b, groupId)
    await sync(b, a, groupId, memberAuth(owner, server))
    expect(viewOf(a, groupId).stateHash).toBe(viewOf(b, groupId).stateHash)
    expect(viewOf(a, groupId).heads).toHaveLength(2)
  })

  it('a joiner with a valid invitation gets the history; its claim then applies everywhere', async () => {
    const { a, groupId } = history(20)
    const inv = createInvitation(owner, groupId, 'member', Date.now() + 60_000)
    const c = new GroupStore()
    await sync(a, c, groupId, invitationAuth(joiner, inv, server))
    expect(viewOf(c, groupId).stateHash).toBe(viewOf(a, groupId).stateHash)
    const claim = c.issue(groupId, joiner, { kind: 'InvitationClaimed', invitation: inv, joinedAt: BigInt(Date.now()) })
    expect(a.ingest([claim.bytes])[0]!.status).toBe('applied')
    expect(a.isMember(groupId, joiner.publicKey)).toBe(true)
  })

  it('refuses strangers, expired and revoked invitations, and a forged challenge signature', async () => {
    const { a, groupId } = history(3)
    const gid = groupId
    await expect(sync(a, new GroupStore(), groupId, memberAuth(stranger, server))).rejects.toThrow(/refused: not a member/)
    const expired = createInvitation(owner, gid, 'member', Date.now() - 1)
    await expect(sync(a, new GroupStore(), groupId, invitationAuth(joiner, expired, server))).rejects.toThrow(/expired/)
    const revoked = createInvitation(owner, gid, 'member', Date.now() + 60_000)
    a.issue(groupId, owner, { kind: 'InvitationRevoked', invitationId: invitationId(revoked) })
    await expect(sync(a, new GroupStore(), groupId, invitationAuth(joiner, revoked, server))).rejects.toThrow(/revoked/)
    const forged = (nonce: Buffer, g: Buffer) => ({ ...memberAuth(member, server)(nonce, g), signature: Buffer.alloc(64, 1) })
    await expect(sync(a, new GroupStore(), groupId, forged)).rejects.toThrow(/challenge signature does not verify/)
    // a proof made for another server (relayed by the peer it was given to) is refused here
    await expect(sync(a, new GroupStore(), groupId, memberAuth(member, 'another-server'))).rejects.toThrow(/challenge signature does not verify \(for this node\)/)
    await expect(sync(a, new GroupStore(), groupId, memberAuth(member, server), undefined, 'another-server')).rejects.toThrow(/does not verify/)
    const other = new GroupStore()
    await expect(sync(other, new GroupStore(), groupId)).rejects.toThrow(/does not hold the group/)
  })

  it('wire decoders refuse garbage, unknown tags and trailing bytes', () => {
    expect(() => decodeFrame(Buffer.from([99]))).toThrow(/unknown frame tag 99/)
    expect(() => decodeFrame(Buffer.from([0, 1, 2]))).toThrow(/truncated/)
    const msg = encodeTopicMessage({ type: 'GroupSealed', groupId: Buffer.alloc(32), keyId: Buffer.alloc(32, 1), sealed: Buffer.from('x') })
    expect(decodeTopicMessage(msg)).toMatchObject({ type: 'GroupSealed', sealed: Buffer.from('x') })
    expect(() => decodeTopicMessage(Buffer.concat([msg, Buffer.from([0])]))).toThrow(/trailing/)
    expect(() => decodeTopicMessage(Buffer.alloc(300 * 1024))).toThrow(/exceeds/)
  })
})
