import { describe, expect, it } from 'vitest'
import { sign } from '../../../src/core/crypto/ed25519.js'
import { Writer } from '../../../src/core/primitives/borsh.js'
import { createInvitation, decodeToken, encodeToken } from '../../../src/core/governance/invitation.js'
import { decodeSignedOp, encodeEnvelope, OP_KINDS, signOp, type GroupOp } from '../../../src/core/governance/ops.js'
import { openEnvelope, sealRotation } from '../../../src/core/governance/rotation.js'
import { x25519KeyPair } from '../../../src/core/crypto/sealed-box.js'
import { fixture, keys, raw, viewOf } from './helpers.js'

const k32 = (n: number) => Buffer.alloc(32, n)

const samples: GroupOp[] = [
  { kind: 'MemberAdded', member: k32(1), role: 'member' },
  { kind: 'MemberRemoved', member: k32(1) },
  { kind: 'MemberLeft' },
  { kind: 'RoleSet', member: k32(1), role: 'read-only' },
  { kind: 'CapabilitiesSet', member: k32(1), capabilities: 5 },
  { kind: 'DefaultCapabilitiesSet', capabilities: 3 },
  { kind: 'DefaultVisibilitySet', visibility: 'restricted' },
  { kind: 'ContextRegistered', contextId: k32(2), application: k32(3), visibility: 'open' },
  { kind: 'ContextDetached', contextId: k32(2) },
  { kind: 'ContextVisibilitySet', contextId: k32(2), visibility: 'restricted' },
  { kind: 'ContextAllowlistSet', contextId: k32(2), add: [k32(4)], remove: [k32(5)] },
  { kind: 'GroupAliasSet', alias: 'team' },
  { kind: 'MemberAliasSet', member: k32(1), alias: 'bob' },
  { kind: 'ContextAliasSet', contextId: k32(2), alias: 'notes' },
  { kind: 'TargetApplicationSet', application: k32(6) },
  { kind: 'InvitationClaimed', invitation: createInvitation(keys.owner, k32(7), 'member', Date.now()), joinedAt: 5n },
  { kind: 'InvitationRevoked', invitationId: k32(8) },
  { kind: 'OwnershipTransferred', newOwner: k32(1) },
  { kind: 'GroupDeleted' },
  { kind: 'ContextJoined', contextId: k32(2) },
  { kind: 'ContextLeft', contextId: k32(2) },
  { kind: 'KeyRotated' },
]

/** A rotation of the group's key and one context's, for a and b. */
const rotation = sealRotation({ groupId: k32(9), signer: keys.a.publicKey, seq: 3n }, [{ key: k32(11) }, { contextId: k32(2), key: k32(12) }], (i) => (i === 0 ? [keys.a.publicKey, keys.b.publicKey] : [keys.b.publicKey]))

describe('op envelope', () => {
  it('round-trips every op kind through the wire form with a stable id', () => {
    expect(new Set(samples.map((s) => s.kind)).size).toBe(OP_KINDS.length - 1) // all but GroupCreated
    for (const op of samples) {
      for (const withRotation of [false, true]) {
        if (op.kind === 'KeyRotated' && !withRotation) continue
        const signed = signOp({ groupId: k32(9), parents: [k32(10)], seq: 3n, op, ...(withRotation ? { rotation } : {}) }, keys.a)
        const back = decodeSignedOp(signed.bytes)
        expect(back.id.equals(signed.id)).toBe(true)
        expect(back.op).toEqual(signed.op)
        expect(back.rotation).toEqual(signed.rotation)
        expect(encodeEnvelope(back).equals(encodeEnvelope(signed))).toBe(true)
      }
    }
    expect(() => signOp({ groupId: k32(9), parents: [k32(10)], seq: 3n, op: { kind: 'KeyRotated' } }, keys.a)).toThrow(/KeyRotated op carries a rotation/)
  })

  it('an op is held in one allocation of its own: no field keeps the frame it came in, or a slab of the Buffer pool, alive', () => {
    const buffersOf = (o: unknown, out: Buffer[] = []): Buffer[] => {
      if (Buffer.isBuffer(o)) out.push(o)
      else if (o && typeof o === 'object') for (const v of Object.values(o)) buffersOf(v, out)
      return out
    }
    for (const withRotation of [false, true]) {
      const signed = signOp({ groupId: k32(9), parents: [k32(10), k32(13)], seq: 3n, op: samples[0]!, ...(withRotation ? { rotation } : {}) }, keys.a)
      // it came in the middle of a larger frame
      const frame = Buffer.concat([Buffer.alloc(1000, 1), signed.bytes, Buffer.alloc(1000, 2)])
      const back = decodeSignedOp(frame.subarray(1000, 1000 + signed.bytes.length))
      for (const op of [signed, back]) {
        const held = buffersOf(op)
        expect(held.length).toBeGreaterThanOrEqual(withRotation ? 12 : 8) // bytes, id, signature, group, parents, signer, member, ...
        const [own] = new Set(held.map((b) => b.buffer))
        for (const b of held) expect(b.buffer).toBe(own)
        expect(own!.byteLength).toBe(signed.bytes.length + 32)
      }
    }
  })

  it('opens an envelope for its recipient only, with the keys the rotation names', () => {
    const signed = signOp({ groupId: k32(9), parents: [k32(10)], seq: 3n, op: { kind: 'KeyRotated' }, rotation }, keys.a)
    const bind = { groupId: signed.groupId, signer: signed.signer, seq: signed.seq }
    const forB = openEnvelope(signed.rotation!, bind, keys.b.publicKey, x25519KeyPair(keys.b.privateKey))
    expect(forB).toEqual({ keys: [{ scope: rotation.scopes[0], key: k32(11) }, { scope: rotation.scopes[1], key: k32(12) }] })
    expect(openEnvelope(signed.rotation!, bind, keys.c.publicKey, x25519KeyPair(keys.c.privateKey))).toBeUndefined()
    // sealed to a but presented as c's; bound to another op
    const misaddressed = { ...rotation, envelopes: [{ ...rotation.envelopes.find((e) => e.recipient.equals(keys.a.publicKey))!, recipient: keys.c.publicKey }] }
    expect(openEnvelope(misaddressed, bind, keys.c.publicKey, x25519KeyPair(keys.c.privateKey))).toEqual({ fault: 'unopenable' })
    expect(openEnvelope(rotation, { ...bind, seq: 4n }, keys.b.publicKey, x25519KeyPair(keys.b.privateKey))).toEqual({ fault: 'wrong_binding' })
  })

  it('rejects bad input with a reason', () => {
    const good = signOp({ groupId: k32(9), parents: [k32(10)], seq: 1n, op: { kind: 'MemberLeft' } }, keys.a)
    const forged = Buffer.from(good.bytes)
    forged[forged.length - 1]! ^= 1
    expect(() => decodeSignedOp(forged)).toThrow(/signature does not verify/)
    expect(() => decodeSignedOp(good.bytes.subarray(0, 40))).toThrow(/truncated/)
    expect(() => decodeSignedOp(Buffer.concat([good.bytes.subarray(0, good.bytes.length - 64), Buffer.from([0]), good.bytes.subarray(good.bytes.length - 64)]))).toThrow(/trailing/)
    expect(() => signOp({ groupId: k32(9), parents: Array.from({ length: 257 }, (_, i) => Buffer.alloc(32, i % 256).fill(i >> 8, 0, 1)), seq: 1n, op: { kind: 'MemberLeft' } }, keys.a)).toThrow(/at most 256 parents/)
    expect(() => signOp({ groupId: k32(9), parents: [k32(1), k32(1)], seq: 1n, op: { kind: 'MemberLeft' } }, keys.a)).toThrow(/same parent twice/)
    expect(() => signOp({ groupId: k32(9), parents: [], seq: 1n, op: { kind: 'MemberLeft' } }, keys.a)).toThrow(/at least one parent/)

    // an unknown op tag, correctly signed
    const w = new Writer().u8(1).fixed(k32(9), 32).u32(1).fixed(k32(10), 32).fixed(keys.a.publicKey, 32).u64(1n).u8(200)
    const body = w.finish()
    const bytes = Buffer.concat([body, sign(keys.a.privateKey, Buffer.concat([Buffer.from('mero.group.v1'), body]))])
    expect(() => decodeSignedOp(bytes)).toThrow(/unknown op tag 200/)
  })

  it('stores nothing for bad ops and says why', () => {
    const { store, groupId, genesis } = fixture()
    const before = viewOf(store, groupId)
    const forged = Buffer.from(raw(groupId, keys.owner, [genesis], 2n, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'member' }).bytes)
    forged[10]! ^= 1
    const wrongGroup = raw(Buffer.from('ab'.repeat(32), 'hex'), keys.owner, [genesis], 2n, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'member' })
    const results = store.ingest([forged, Buffer.from('garbage'), wrongGroup.bytes])
    expect(results[0]).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/signature/) })
    expect(results[1]).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/truncated/) })
    // an op for a group this node lacks waits for its ancestors; it changes nothing here
    expect(results[2]).toMatchObject({ status: 'pending' })
    expect(viewOf(store, groupId)).toEqual({ ...before, pendingOps: 0 })
  })
})

describe('invitation tokens', () => {
  it('round-trip with hints and reject garbled tokens', () => {
    const inv = createInvitation(keys.owner, k32(1), 'admin', 1_000)
    const token = encodeToken(inv, { peerId: '12D3KooWx', addresses: ['/ip4/127.0.0.1/tcp/1'] })
    const d = decodeToken(token)
    expect(d.invitation).toEqual(inv)
    expect(d.hints).toEqual({ peerId: '12D3KooWx', addresses: ['/ip4/127.0.0.1/tcp/1'] })
    expect(d.invitation.maxUses).toBe(1)
    expect(() => decodeToken('hello')).toThrow(/should start with 'mero-inv2-'/)
    // whatever the decoder finds, the joiner reads the same sentence (not the decoder's internals)
    for (const bad of [token.slice(0, -5), token.replace(/.$/, '0'), `${token.slice(0, 30)}0OIl${token.slice(34)}`]) {
      expect(() => decodeToken(bad)).toThrow(/^the invitation token is damaged or incomplete; copy it again in one piece, or ask for a new one$/)
    }
    expect(() => decodeToken('mero-inv1-abc')).toThrow(/made by an older mero/)
  })
})

