import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sealTo } from '../../../src/core/crypto/sealed-box.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { KeyRing } from '../../../src/core/governance/keyring.js'
import { signOp, type SignedOp } from '../../../src/core/governance/ops.js'
import { envelopeBinding, GROUP_SCOPE, sealRotation, type Rotation } from '../../../src/core/governance/rotation.js'
import { keys, viewOf } from './helpers.js'

/**
 * Bad key envelopes (issue 16): an op whose envelope for a member is forged, sealed to someone
 * else, copied from another op or holding other keys than the rotation names is applied (the
 * others cannot tell), and the member's keyring refuses the envelope, counts it by reason and
 * stores nothing: it holds no key for that epoch and fetches it from a peer, where a key that is
 * not the one the rotation names is refused and counted too. A truncated envelope does not decode.
 */
describe('bad key envelopes', () => {
  /** The owner's group with a as a member; replicas of the owner and of a, each with its keyring. */
  function setup() {
    const owner = new GroupStore(undefined, new KeyRing(keys.owner))
    const member = new GroupStore(undefined, new KeyRing(keys.a))
    const { groupId } = owner.createGroup(keys.owner)
    owner.issue(groupId, keys.owner, { kind: 'MemberAdded', member: keys.a.publicKey, role: 'member' })
    member.ingest(owner.getOps(groupId, owner.ops(groupId).map((o) => o.opId)))
    return { owner, member, groupId }
  }

  /** The owner's KeyRotated of the group's key, its rotation for a rewritten by `mangle`. */
  function rotatedBy(owner: GroupStore, groupId: Buffer, mangle: (r: Rotation, bind: Buffer) => Rotation): SignedOp {
    const g = owner.state(groupId)
    const seq = g.nextSeq(keys.owner.publicKey)
    const binding = { groupId: groupId, signer: keys.owner.publicKey, seq }
    const honest = sealRotation(binding, [{ key: randomBytes(32) }], () => [keys.owner.publicKey, keys.a.publicKey])
    const rotation = mangle(honest, envelopeBinding(binding.groupId, binding.signer, seq, honest.scopes))
    return signOp({ groupId: binding.groupId, parents: owner.heads(groupId), seq, op: { kind: 'KeyRotated' }, rotation }, keys.owner)
  }

  const forA = (r: Rotation, sealed: Buffer): Rotation => ({ ...r, envelopes: r.envelopes.map((e) => (e.recipient.equals(keys.a.publicKey) ? { ...e, sealed } : e)) })

  it('a forged, misaddressed, copied or wrong-key envelope is refused and counted by reason; nothing is stored', () => {
    const { owner, member, groupId } = setup()
    const cases: [string, (r: Rotation, bind: Buffer) => Rotation][] = [
      // random bytes of the right size: no sealed box
      ['unopenable', (r) => forA(r, randomBytes(r.envelopes[0]!.sealed.length))],
      // a box sealed to the owner, presented as a's
      ['unopenable', (r, bind) => forA(r, sealTo(keys.owner.publicKey, Buffer.concat([bind, randomBytes(32)])))],
      // the right recipient and key id, bound to another op (another seq)
      ['wrong_binding', (r) => forA(r, sealTo(keys.a.publicKey, Buffer.concat([envelopeBinding(groupId, keys.owner.publicKey, 999n, r.scopes), randomBytes(32)])))],
      // bound to this op, but a key that is not the one the rotation names
      ['wrong_key', (r, bind) => forA(r, sealTo(keys.a.publicKey, Buffer.concat([bind, randomBytes(32)])))],
    ]
    const ring = member.keys!
    for (const [reason, mangle] of cases) {
      const before = { ...ring.faults }
      const held = ring.held().length
      const op = rotatedBy(owner, groupId, mangle)
      owner.ingest([op.bytes])
      expect(member.ingest([op.bytes])[0]).toMatchObject({ status: 'applied' })
      expect(ring.faults[reason as keyof typeof ring.faults]).toBe(before[reason as keyof typeof before] + 1)
      expect(ring.held()).toHaveLength(held)
      // the owner derives the epoch's key; a does not, and asks a peer for it
      expect(owner.keyAt(groupId, GROUP_SCOPE).status).toBe('ok')
      expect(member.keyAt(groupId, GROUP_SCOPE)).toMatchObject({ status: 'missing', rotations: [op.id] })
    }
    // the peer's answer: a key other than the rotation's is refused and counted; the right one is kept
    const [{ rotation }] = owner.keysToShare(groupId, GROUP_SCOPE)
    expect(member.acceptKeys(groupId, GROUP_SCOPE, [{ rotation: rotation!, key: randomBytes(32) }])).toBe(0)
    expect(ring.faults.bad_component).toBe(1)
    expect(member.acceptKeys(groupId, GROUP_SCOPE, owner.keysToShare(groupId, GROUP_SCOPE))).toBe(1)
    expect(member.keyAt(groupId, GROUP_SCOPE)).toMatchObject({ status: 'ok', keyId: (owner.keyAt(groupId, GROUP_SCOPE) as { keyId: Buffer }).keyId })
  })

  it('a truncated envelope does not decode: the op is refused with the reason, and nothing is stored', () => {
    const { owner, member, groupId } = setup()
    const ops = viewOf(member, groupId).opCount
    const op = rotatedBy(owner, groupId, (r) => forA(r, r.envelopes.find((e) => e.recipient.equals(keys.a.publicKey))!.sealed.subarray(0, 40)))
    expect(member.ingest([op.bytes])[0]).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/key envelope of 1 key\(s\) is \d+ bytes, not 40/) })
    expect(viewOf(member, groupId).opCount).toBe(ops)
  })
})
