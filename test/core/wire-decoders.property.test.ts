import { streamPair } from '@libp2p/utils'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBlobFrame, encodeBlobFrame, REFUSAL_KINDS, type BlobFrame } from '../../src/core/blobs/blob-wire.js'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { createInvitation, decodeToken, encodeToken } from '../../src/core/governance/invitation.js'
import { decodeSignedOp, MAX_INVITATION_USES, ROLES, signOp, type GroupOp } from '../../src/core/governance/ops.js'
import { FramedStream } from '../../src/core/network/frames.js'
import { isMeroError } from '../../src/core/primitives/errors.js'
import { decodeDelta, encodeDelta } from '../../src/core/state/actions.js'
import { CollectionKind } from '../../src/core/state/ids.js'
import { crc32c, maskCrc } from '../../src/core/store/crc32c.js'
import { readLogRecords } from '../../src/core/store/log-records.js'
import { applyVersionEdit, decodeWriteBatch, emptyManifestFacts, RecordFormatError } from '../../src/core/store/rocksdb-records.js'
import { DeltaRejected, signDelta, verifyDelta } from '../../src/core/context/delta-envelope.js'
import { openContextMessage, openGroupMessage, sealContextMessage, sealGroupMessage } from '../../src/core/sync/sealed-topics.js'
import { decodeContextPlain, decodeFrame, decodeGroupPlain, decodeTopicMessage, encodeContextPlain, encodeFrame, encodeGroupPlain, encodeTopicMessage, type ContextPlain, type GroupPlain, type SyncFrame, type TopicMessage } from '../../src/core/sync/wire.js'
import { keyIdOf, openEnvelope, readRotation, sealedSize, sealRotation, writeRotation, type Rotation } from '../../src/core/governance/rotation.js'
import { x25519KeyPair } from '../../src/core/crypto/sealed-box.js'
import { Reader, Writer } from '../../src/core/primitives/borsh.js'
import { readMessage, writeMessage } from '../helpers/network-requests.js'

/**
 * Issue 17, item 8: every decoder of bytes from the network, fuzzed. For each: valid messages
 * round-trip; arbitrary bytes and mutations of valid encodings (a byte flipped, a cut, bytes
 * appended, a range overwritten) are either refused with a typed MeroError, or accepted only as
 * the one canonical encoding of what was decoded (re-encoding gives the same bytes). Signed and
 * sealed ones (ops, deltas) accept no mutation at all. Each property counts that it met its hard
 * case: cuts of valid encodings, all refused.
 */
const RUNS = 300
const key = generateKeyPair()
const bytes = (max: number, min = 0) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b))
const b32 = bytes(32, 32)
const b64 = bytes(64, 64)
const ids = (max = 4) => fc.array(b32, { maxLength: max })
const u32 = fc.nat({ max: 0xffffffff })

type Mutation = { kind: 'flip' | 'cut' | 'append' | 'overwrite'; out: Buffer }

/** A valid encoding changed in one way (`sized`: its length kept, as for fixed-size fields). */
function mutate(valid: fc.Arbitrary<Buffer>, sized = false): fc.Arbitrary<{ original: Buffer } & Mutation> {
  return valid.chain((original) => {
    const changes = [
      fc.record({ at: fc.nat({ max: Math.max(0, original.length - 1) }), bit: fc.integer({ min: 0, max: 7 }) }).map(({ at, bit }) => {
        const out = Buffer.from(original)
        if (out.length) out[at]! ^= 1 << bit
        return { original, kind: 'flip' as const, out }
      }),
      fc.record({ at: fc.nat({ max: original.length }), junk: bytes(16, 1) }).map(({ at, junk }) => {
        const out = Buffer.from(original)
        junk.copy(out, Math.min(at, out.length))
        return { original, kind: 'overwrite' as const, out }
      }),
    ]
    if (!sized) {
      changes.push(
        fc.nat({ max: Math.max(0, original.length - 1) }).map((n) => ({ original, kind: 'cut' as const, out: original.subarray(0, n) })),
        bytes(40, 1).map((extra) => ({ original, kind: 'append' as const, out: Buffer.concat([original, extra]) })),
      )
    }
    return fc.oneof(...changes)
  })
}

/** Decodes, expecting either a typed refusal or the canonical encoding of the result (of the input's canonical form). */
function judge<T>(input: Buffer, decode: (b: Buffer) => T, encode: (v: T) => Buffer, canonical: (b: Buffer) => Buffer = (b) => b): 'refused' | 'accepted' {
  let value: T
  try {
    value = decode(input)
  } catch (e) {
    if (!isMeroError(e)) throw new Error(`the decoder threw ${(e as Error).name}: ${(e as Error).message}, not a MeroError`)
    return 'refused'
  }
  expect(encode(value).equals(canonical(input))).toBe(true) // one encoding per message
  return 'accepted'
}

/**
 * The three properties of a decoder, with its counts of hard cases. `canonical` maps an input to
 * the one form the decoder reads it as (a pasted token: its text without surrounding whitespace).
 */
function fuzzDecoder<T>(name: string, valid: fc.Arbitrary<T>, encode: (v: T) => Buffer, decode: (b: Buffer) => T, canonical: (b: Buffer) => Buffer = (b) => b): void {
  describe(name, () => {
    it('round-trips every valid message', () => {
      fc.assert(
        fc.property(valid, (m) => {
          const b = encode(m)
          expect(encode(decode(b)).equals(b)).toBe(true)
        }),
        { numRuns: RUNS },
      )
    })

    it('refuses, typed, every cut of a valid encoding; any other mutation is refused or canonical', () => {
      const seen = { cut: 0, flip: 0, append: 0, overwrite: 0 }
      fc.assert(
        fc.property(mutate(valid.map(encode)), (m) => {
          const verdict = judge(m.out, decode, encode, canonical)
          seen[m.kind]++
          // an append the canonical form drops (whitespace after a token) reads as the original
          if (m.kind === 'cut' || (m.kind === 'append' && !canonical(m.out).equals(m.original))) expect(verdict).toBe('refused')
        }),
        { numRuns: RUNS },
      )
      expect(seen.cut).toBeGreaterThan(RUNS / 10)
      expect(seen.flip + seen.overwrite + seen.append).toBeGreaterThan(RUNS / 3)
    })

    it('arbitrary bytes are refused with a typed error or decode canonically', () => {
      fc.assert(fc.property(bytes(600), (b) => void judge(b, decode, encode, canonical)), { numRuns: RUNS })
    })
  })
}

const topicMessage: fc.Arbitrary<TopicMessage> = fc.oneof(
  fc.record({ type: fc.constant('GroupSealed' as const), groupId: b32, keyId: b32, sealed: bytes(300) }),
  fc.record({ type: fc.constant('ContextSealed' as const), contextId: b32, keyId: b32, sealed: bytes(300) }),
)
const groupPlain: fc.Arbitrary<GroupPlain> = fc.oneof(fc.record({ type: fc.constant('GroupOp' as const), op: bytes(300) }), fc.record({ type: fc.constant('GroupHeartbeat' as const), heads: ids(), opCount: u32 }))

const signedDeltaWire = fc.record({ author: b32, govPosition: ids(3), signature: b64, payload: bytes(120) })
const contextPlain: fc.Arbitrary<ContextPlain> = fc.oneof(fc.record({ type: fc.constant('Deltas' as const), deltas: fc.array(signedDeltaWire, { minLength: 1, maxLength: 3 }) }), fc.record({ type: fc.constant('ContextHeartbeat' as const), rootHash: b32, heads: ids(), deltaCount: u32 }))
const invitation = fc
  .record({ group: b32, role: fc.constantFrom(...ROLES), expires: fc.nat(), context: fc.option(b32, { nil: undefined }), salt: b32, uses: fc.integer({ min: 1, max: MAX_INVITATION_USES }) })
  .map(({ group, role, expires, context, salt, uses }) => createInvitation(key, group, role, expires, context, salt, uses))
const keyComponents = fc.array(fc.record({ rotation: b32, key: b32 }), { maxLength: 3 })

/** A canonical rotation: distinct scopes, envelopes to distinct recipients naming increasing scopes, sealed boxes of their exact size. */
const rotation: fc.Arbitrary<Rotation> = fc
  .uniqueArray(fc.option(b32, { nil: undefined }), { minLength: 1, maxLength: 4, selector: (c) => (c ? c.toString('hex') : 'group') })
  .chain((contexts) =>
    fc.record({
      scopes: fc.tuple(...contexts.map((c) => b32.map((keyId) => ({ ...(c ? { contextId: c } : {}), keyId })))),
      envelopes: fc.uniqueArray(
        fc.record({ recipient: b32, scopes: fc.subarray(contexts.map((_, i) => i), { minLength: 1 }) }).chain((e) => bytes(sealedSize(e.scopes.length), sealedSize(e.scopes.length)).map((sealed) => ({ ...e, sealed }))),
        { maxLength: 3, selector: (e) => e.recipient.toString('hex') },
      ),
    }),
  )


const syncFrame: fc.Arbitrary<SyncFrame> = fc.oneof(
  fc.record({ type: fc.constant('Hello' as const), groupId: b32 }),
  fc.record({ type: fc.constant('Challenge' as const), nonce: b32 }),
  fc.record({ type: fc.constant('Auth' as const), auth: fc.oneof(fc.record({ kind: fc.constant('member' as const), identity: b32, signature: b64 }), fc.record({ kind: fc.constant('invitation' as const), invitation, identity: b32, signature: b64 })) }),
  fc.record({ type: fc.constant('Denied' as const), reason: fc.string({ maxLength: 80 }) }),
  fc.constantFrom<SyncFrame>({ type: 'HeadsRequest' }, { type: 'Bye' }, { type: 'ContextHeadsRequest' }, { type: 'KeyRequest' }, { type: 'SnapshotRequest' }, { type: 'GroupKeysRequest' }),
  fc.record({ type: fc.constant('GroupKeys' as const), keys: keyComponents }),
  fc.record({ type: fc.constant('Heads' as const), heads: ids(), opCount: u32 }),
  fc.record({ type: fc.constant('OpsRequest' as const), ids: ids() }),
  fc.record({ type: fc.constant('Ops' as const), ops: fc.array(bytes(100), { maxLength: 3 }), notFound: ids(), more: fc.boolean() }),
  fc.record({ type: fc.constant('DiffRequest' as const), have: ids() }),
  fc.record({ type: fc.constant('Announce' as const), heads: ids() }),
  fc.record({ type: fc.constant('ContextHello' as const), contextId: b32 }),
  fc.integer({ min: 0, max: 4 }).chain((n) => fc.record({ type: fc.constant('ContextHeads' as const), heads: fc.array(b32, { minLength: n, maxLength: n }), depths: fc.array(fc.nat(), { minLength: n, maxLength: n }), rootHash: b32, deltaCount: u32 })),
  fc.record({ type: fc.constant('DeltaDiffRequest' as const), have: ids() }),
  fc.record({ type: fc.constant('DeltasRequest' as const), ids: ids() }),
  fc.record({ type: fc.constant('Deltas' as const), deltas: fc.array(signedDeltaWire, { maxLength: 3 }), more: fc.boolean() }),
  fc.record({ type: fc.constant('ContextKey' as const), keys: keyComponents, applicationId: b32 }),
  fc.record({ type: fc.constant('SnapshotPage' as const), records: fc.array(bytes(80), { maxLength: 3 }), more: fc.boolean() }),
)

const blobFrame: fc.Arbitrary<BlobFrame> = fc.oneof(
  fc.record({ type: fc.constant('BlobRequest' as const), blobId: b32, groupId: b32, maxBytes: fc.nat() }),
  fc.record({ type: fc.constant('Challenge' as const), nonce: b32 }),
  fc.record({ type: fc.constant('Auth' as const), identity: b32, signature: b64 }),
  fc.record({ type: fc.constant('Refused' as const), kind: fc.constantFrom(...REFUSAL_KINDS), reason: fc.string({ maxLength: 80 }) }),
  fc.record({ type: fc.constant('BlobInfo' as const), size: fc.nat(), chunks: ids() }),
  fc.record({ type: fc.constant('BlobChunk' as const), index: u32, data: bytes(200) }),
)

const tokenBytes = (token: string) => Buffer.from(token, 'latin1')
const hints = fc.record({ peerId: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }), addresses: fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }) })

describe('wire decoders under fuzzing', () => {
  fuzzDecoder('gossip messages (decodeTopicMessage)', topicMessage, encodeTopicMessage, decodeTopicMessage)
  fuzzDecoder('sealed group messages (decodeGroupPlain)', groupPlain, encodeGroupPlain, decodeGroupPlain)
  fuzzDecoder('sealed context messages (decodeContextPlain)', contextPlain, encodeContextPlain, decodeContextPlain)
  fuzzDecoder(
    'key rotations (readRotation)',
    rotation,
    (r) => {
      const w = new Writer()
      writeRotation(w, r)
      return w.finish()
    },
    (b) => {
      const r = new Reader(b, 'rotation')
      const out = readRotation(r)
      r.end()
      return out
    },
  )
  fuzzDecoder('sync frames (decodeFrame)', syncFrame, encodeFrame, decodeFrame)
  fuzzDecoder('blob frames (decodeBlobFrame)', blobFrame, encodeBlobFrame, decodeBlobFrame)
  fuzzDecoder(
    'invitation tokens (decodeToken)',
    fc.record({ invitation, hints }),
    ({ invitation: inv, hints: h }) => tokenBytes(encodeToken(inv, h)),
    (b) => {
      const d = decodeToken(b.toString('latin1'))
      return { invitation: d.invitation, hints: d.hints }
    },
    // a token is text pasted from somewhere: whitespace around it is not part of it
    (b) => Buffer.from(b.toString('latin1').trim(), 'latin1'),
  )
  fuzzDecoder('state deltas (decodeDelta)', fc.record({ contextId: b32, parents: ids(2).map((p) => p.sort(Buffer.compare).filter((x, i, a) => i === 0 || !x.equals(a[i - 1]!))), time: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), node: b32, author: b32, keys: fc.array(bytes(20, 1), { maxLength: 3 }) }).map((d) => ({
    contextId: d.contextId,
    parents: d.parents,
    hlc: { time: d.time, node: d.node },
    author: d.author,
    actions: d.keys.map((k) => ({ type: 'update' as const, target: { kind: CollectionKind.Map, collection: 'm', key: k }, value: k, removes: [] })),
  })), encodeDelta, decodeDelta)

  describe('signed governance ops (decodeSignedOp)', () => {
    const op: fc.Arbitrary<GroupOp> = fc.oneof(
      fc.record({ kind: fc.constant('MemberAdded' as const), member: b32, role: fc.constantFrom(...ROLES) }),
      fc.record({ kind: fc.constant('MemberRemoved' as const), member: b32 }),
      fc.record({ kind: fc.constant('CapabilitiesSet' as const), member: b32, capabilities: fc.integer({ min: 0, max: 31 }) }),
      fc.record({ kind: fc.constant('GroupAliasSet' as const), alias: fc.stringMatching(/^[a-z0-9]{1,20}$/) }),
      fc.record({ kind: fc.constant('InvitationClaimed' as const), invitation, joinedAt: fc.bigInt({ min: 0n, max: 1n << 50n }) }),
      fc.constant({ kind: 'KeyRotated' as const }),
    )
    // ops with and without the rotation they may carry (a KeyRotated op always carries one)
    const signed = fc
      .record({ groupId: b32, parents: fc.array(b32, { minLength: 1, maxLength: 3 }).map((p) => [...new Map(p.map((x) => [x.toString('hex'), x])).values()].sort(Buffer.compare)), seq: fc.bigInt({ min: 1n, max: 1n << 40n }), op, rotation: fc.option(rotation, { nil: undefined }) })
      .filter((e) => e.op.kind !== 'KeyRotated' || e.rotation !== undefined)
      .map((e) => signOp(e, key).bytes)

    it('round-trips and verifies; no mutation of a signed op is accepted', () => {
      let cuts = 0
      fc.assert(
        fc.property(signed, (b) => {
          expect(decodeSignedOp(b, { verify: true }).bytes.equals(b)).toBe(true)
        }),
        { numRuns: RUNS },
      )
      fc.assert(
        fc.property(mutate(signed), (m) => {
          if (m.out.equals(m.original)) return
          if (m.kind === 'cut') cuts++
          expect(judge(m.out, (b) => decodeSignedOp(b, { verify: true }), (o) => o.bytes)).toBe('refused')
        }),
        { numRuns: RUNS },
      )
      expect(cuts).toBeGreaterThan(RUNS / 10)
      fc.assert(
        fc.property(bytes(600), (b) => {
          expect(judge(b, (x) => decodeSignedOp(x, { verify: true }), (o) => o.bytes)).toBe('refused')
        }),
        { numRuns: RUNS },
      )
    })
  })

  describe('key envelopes (openEnvelope)', () => {
    const recipient = generateKeyPair()
    const bind = { groupId: Buffer.alloc(32, 3), signer: Buffer.from(key.publicKey), seq: 5n }
    const keys = [{ key: Buffer.alloc(32, 1) }, { contextId: Buffer.alloc(32, 2), key: Buffer.alloc(32, 4) }]
    const rot = sealRotation(bind, keys, () => [recipient.publicKey])
    const x = x25519KeyPair(recipient.privateKey)

    it('the recipient opens its keys; a forged, truncated, re-bound or wrongly addressed envelope is a named fault, never keys', () => {
      expect(openEnvelope(rot, bind, recipient.publicKey, x)).toEqual({ keys: [{ scope: rot.scopes[0], key: keys[0]!.key }, { scope: rot.scopes[1], key: keys[1]!.key }] })
      const seen = { sealed: 0, addressed: 0 }
      fc.assert(
        fc.property(fc.oneof(mutate(fc.constant(rot.envelopes[0]!.sealed)).map((m) => ({ m, what: 'sealed' as const })), fc.constant({ m: undefined, what: 'addressed' as const })), ({ m, what }) => {
          if (m?.out.equals(m.original)) return
          // a box sealed to another identity, put under this recipient's name
          const sealed = what === 'sealed' ? m!.out : sealRotation(bind, keys, () => [generateKeyPair().publicKey]).envelopes[0]!.sealed
          const out = openEnvelope({ ...rot, envelopes: [{ ...rot.envelopes[0]!, sealed }] }, bind, recipient.publicKey, x)
          expect(out).toMatchObject({ fault: expect.stringMatching(/^(unopenable|wrong_binding|wrong_key)$/) })
          seen[what]++
        }),
        { numRuns: RUNS },
      )
      expect(seen.sealed).toBeGreaterThan(RUNS / 3)
      expect(seen.addressed).toBeGreaterThan(RUNS / 10)
      // copied into another op (its binding), or naming other key ids
      expect(openEnvelope(rot, { ...bind, seq: 6n }, recipient.publicKey, x)).toEqual({ fault: 'wrong_binding' })
      // a truncated box is not even a rotation: the decoder refuses its size
      const w = new Writer()
      writeRotation(w, { ...rot, envelopes: [{ ...rot.envelopes[0]!, sealed: rot.envelopes[0]!.sealed.subarray(1) }] })
      expect(() => readRotation(new Reader(w.finish(), 'rotation'))).toThrow(/bytes, not/)
    })
  })

  describe('delta envelopes (verifyDelta, openContextMessage)', () => {
    const contextId = Buffer.alloc(32, 7)
    const contextKey = Buffer.alloc(32, 9)
    const delta = encodeDelta({ contextId, parents: [], hlc: { time: 1n, node: Buffer.from(key.publicKey) }, author: Buffer.from(key.publicKey), actions: [{ type: 'update', target: { kind: CollectionKind.Map, collection: 'm', key: Buffer.from('k') }, value: Buffer.from('v'), removes: [] }] })
    const wire = signDelta(key, contextId, [Buffer.alloc(32, 1)], { delta, events: '[{"kind":"Set","data":{"k":"v"}}]' })

    it('verifies the author\'s delta; refuses, as DeltaRejected, any change to its payload, signature, author or position', () => {
      expect(verifyDelta(contextId, wire).delta.actions).toHaveLength(1)
      const field = fc.constantFrom('payload', 'signature', 'author', 'govPosition')
      let refused = 0
      fc.assert(
        // the wire decoder fixes the sizes of the signature, author and position: those keep theirs
        fc.property(field, mutate(fc.constant(wire.payload)), mutate(fc.constant(wire.signature), true), mutate(fc.constant(wire.author), true), mutate(fc.constant(wire.govPosition[0]!), true), (f, p, s, a, g) => {
          const m = { payload: p, signature: s, author: a, govPosition: g }[f]
          if (m.out.equals(m.original)) return
          const changed = { ...wire, [f]: f === 'govPosition' ? [m.out] : m.out }
          try {
            verifyDelta(contextId, changed)
          } catch (e) {
            expect(e).toBeInstanceOf(DeltaRejected)
            refused++
            return
          }
          throw new Error(`a delta with its ${f} changed (${m.kind}) was accepted`)
        }),
        { numRuns: RUNS },
      )
      expect(refused).toBeGreaterThan(RUNS / 2)
    })

    it('opens only what was sealed under the key: every change to the sealed bytes is undecryptable', () => {
      const sealed = sealContextMessage(contextId, { key: contextKey, keyId: keyIdOf(contextKey) }, { type: 'Deltas', deltas: [wire] })
      expect(openContextMessage(sealed, contextKey)).toEqual({ type: 'Deltas', deltas: [wire] })
      fc.assert(
        fc.property(mutate(fc.constant(sealed.sealed)), (m) => {
          if (m.out.equals(m.original)) return
          expect(() => openContextMessage({ ...sealed, sealed: m.out }, contextKey)).toThrow(DeltaRejected)
        }),
        { numRuns: RUNS },
      )
    })

    it('a group message opens only under its key and on its own topic', () => {
      const k = { key: Buffer.alloc(32, 5), keyId: keyIdOf(Buffer.alloc(32, 5)) }
      const sealed = sealGroupMessage(Buffer.alloc(32, 6), k, { type: 'GroupHeartbeat', heads: [Buffer.alloc(32, 1)], opCount: 2 })
      expect(openGroupMessage(sealed, k.key)).toEqual({ type: 'GroupHeartbeat', heads: [Buffer.alloc(32, 1)], opCount: 2 })
      expect(() => openGroupMessage({ ...sealed, groupId: Buffer.alloc(32, 7) }, k.key)).toThrow(/does not open/)
      fc.assert(
        fc.property(mutate(fc.constant(sealed.sealed)), (m) => {
          if (m.out.equals(m.original)) return
          expect(() => openGroupMessage({ ...sealed, sealed: m.out }, k.key)).toThrow(/does not open/)
        }),
        { numRuns: RUNS },
      )
    })
  })

  describe('network messages (readMessage over length-prefixed frames)', () => {
    /** What the reading side of a stream makes of raw bytes sent by a peer. */
    async function read(raw: Uint8Array[]): Promise<'refused' | 'accepted'> {
      const [a, b] = await streamPair({ delay: 0 })
      for (const chunk of raw) a.send(chunk)
      await a.close()
      try {
        await readMessage(new FramedStream(b, 1024), 16, AbortSignal.timeout(2_000))
        return 'accepted'
      } catch (e) {
        if (!isMeroError(e)) throw new Error(`readMessage threw ${(e as Error).name}: ${(e as Error).message}`)
        return 'refused'
      } finally {
        b.abort(new Error('done'))
      }
    }

    it('a valid message reads; arbitrary bytes and oversized or cut frames are refused with a typed error', async () => {
      const [a, b] = await streamPair({ delay: 0 })
      await writeMessage(new FramedStream(a), [Buffer.from('x'), Buffer.from('yz')])
      expect((await readMessage(new FramedStream(b), 16)).map((f) => Buffer.from(f).toString())).toEqual(['x', 'yz'])
      const seen = { oversized: 0, cut: 0 }
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.array(bytes(64), { minLength: 1, maxLength: 3 }).map((raw) => ({ raw, kind: 'junk' as const })),
            // a length prefix past the 1 KiB limit
            fc.integer({ min: 1025, max: 1 << 20 }).map((n) => ({ raw: [Buffer.from(varint(n))], kind: 'oversized' as const })),
            // a header promising frames that never come
            fc.integer({ min: 1, max: 16 }).map((n) => ({ raw: [Buffer.concat([Buffer.from(varint(5)), Buffer.from([0, n, 0, 0, 0])])], kind: 'cut' as const })),
          ),
          async ({ raw, kind }) => {
            const verdict = await read(raw)
            if (kind !== 'junk') {
              seen[kind]++
              expect(verdict).toBe('refused')
            }
          },
        ),
        { numRuns: 150 },
      )
      expect(seen.oversized + seen.cut).toBeGreaterThan(30)
    })
  })
})

describe('store logs, read at every start (readLogRecords, write batches, version edits)', () => {
  it('arbitrary and damaged log bytes never throw: records, damage or a torn tail; records decode or are refused as format errors', () => {
    const record = bytes(300, 12).map((payload) => {
      const crc = maskCrc(crc32c(payload, crc32c(Buffer.from([1]))))
      const head = Buffer.alloc(7)
      head.writeUInt32LE(crc, 0)
      head.writeUInt16LE(payload.length, 4)
      head[6] = 1
      return Buffer.concat([head, payload])
    })
    let damaged = 0
    fc.assert(
      fc.property(fc.oneof(bytes(2000), mutate(fc.array(record, { minLength: 1, maxLength: 8 }).map((r) => Buffer.concat(r))).map((m) => m.out)), (b) => {
        const read = readLogRecords(b)
        if (read.damage || read.tornTail) damaged++
        for (const r of [...read.records, ...read.afterDamage]) {
          for (const decode of [decodeWriteBatch, (x: Buffer) => applyVersionEdit(emptyManifestFacts(), x)]) {
            try {
              decode(r.payload)
            } catch (e) {
              expect(e).toBeInstanceOf(RecordFormatError)
            }
          }
        }
      }),
      { numRuns: RUNS },
    )
    expect(damaged).toBeGreaterThan(RUNS / 4)
  })
})

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}
