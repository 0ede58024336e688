import { generateKeyPair, type KeyPair } from '../../../src/core/crypto/ed25519.js'
import { toBase58 } from '../../../src/core/primitives/encoding.js'
import { GroupStore } from '../../../src/core/governance/group-store.js'
import { signOp, type GroupOp, type SignedOp } from '../../../src/core/governance/ops.js'
import { groupView, opRecord } from '../../../src/api/governance-json.js'

export const keys = { owner: generateKeyPair(), a: generateKeyPair(), b: generateKeyPair(), c: generateKeyPair(), d: generateKeyPair() }
export const id58 = (k: KeyPair) => toBase58(k.publicKey)

/** Signs an op on explicit parents WITHOUT the local authorisation check (to test rejection). */
export function raw(groupId: Buffer, signer: KeyPair, parents: SignedOp[] | Buffer[], seq: bigint, op: GroupOp): SignedOp {
  return signOp({ groupId, parents: parents.map((p) => (Buffer.isBuffer(p) ? p : p.id)), seq, op }, signer)
}

/** A fresh in-memory group owned by keys.owner, with a, b as members by default. */
export function fixture(): { store: GroupStore; groupId: Buffer; genesis: SignedOp } {
  const store = new GroupStore()
  const { groupId, op } = store.createGroup(keys.owner)
  return { store, groupId, genesis: op }
}

export function memberRoles(store: GroupStore, groupId: Buffer): Record<string, string> {
  return Object.fromEntries(viewOf(store, groupId).members.map((m) => [m.identity, m.role]))
}

/** A group as the RPC shows it (ids in their string forms). */
export function viewOf(store: Pick<GroupStore, 'view'>, groupId: Buffer) {
  return groupView(store.view(groupId))
}

/** The op log as the RPC shows it. */
export function opsOf(store: Pick<GroupStore, 'ops'>, groupId: Buffer) {
  return store.ops(groupId).map(opRecord)
}

/** Applies `op` on a copy of the current heads by `signer`, skipping the local pre-check; returns the result. */
export function inject(store: GroupStore, groupId: Buffer, signer: KeyPair, op: GroupOp) {
  const heads = store.heads(groupId)
  const signed = raw(groupId, signer, heads, store.state(groupId).nextSeq(signer.publicKey), op)
  return { signed, result: store.ingest([signed.bytes])[0]! }
}

/** A deterministic shuffle (a linear congruential generator seeded by `seed`): a delivery order. */
export function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice()
  let s = seed >>> 0 || 1
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1664525 + 1013904223) >>> 0
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
