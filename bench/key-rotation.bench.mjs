// Key rotation (issue 16): what a removal costs in a group of 100 members, each joined to three
// contexts. The author's CPU for issuing the removal (sign, plan, new keys for the group and the
// three contexts, one sealed box per remaining member), against the same removal without keys;
// the op's bytes on the wire; and a receiving member's CPU to apply it and open its envelope.
import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '../dist/core/crypto/ed25519.js'
import { GroupStore } from '../dist/core/governance/group-store.js'
import { KeyRing } from '../dist/core/governance/keyring.js'
import { GROUP_SCOPE } from '../dist/core/governance/rotation.js'
import { median, report, round } from './lib/stats.mjs'

const MEMBERS = 100
const CONTEXTS = 3
const ROUNDS = 15

/** A group of MEMBERS (the owner and 99 others), every member joined to CONTEXTS contexts, keyed. */
function group(withKeys) {
  const owner = generateKeyPair()
  const members = Array.from({ length: MEMBERS - 1 }, () => generateKeyPair())
  const store = new GroupStore(undefined, withKeys ? new KeyRing(owner) : undefined)
  const { groupId } = store.createGroup(owner)
  for (const m of members) store.issue(groupId, owner, { kind: 'MemberAdded', member: m.publicKey, role: 'member' })
  const contexts = Array.from({ length: CONTEXTS }, () => randomBytes(32))
  for (const c of contexts) {
    store.issue(groupId, owner, { kind: 'ContextRegistered', contextId: c, application: randomBytes(32) })
    for (const m of members) store.issue(groupId, m, { kind: 'ContextJoined', contextId: c })
  }
  if (withKeys) store.issue(groupId, owner, { kind: 'KeyRotated' }, { rotate: [GROUP_SCOPE, ...contexts.map((c) => c.toString('hex'))] })
  return { store, groupId, owner, members }
}

/** Removes members one per round; returns the issue times (ms) and the ops. */
function removals(g) {
  const times = []
  const ops = []
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now()
    ops.push(g.store.issue(g.groupId, g.owner, { kind: 'MemberRemoved', member: g.members[i].publicKey }))
    times.push(performance.now() - t)
  }
  return { times, ops }
}

const keyed = group(true)
const plain = group(false)
const withRotation = removals(keyed)
const without = removals(plain)
const sizes = withRotation.ops.map((o) => o.bytes.length)

// a remaining member applies the removals and opens its envelopes
const last = keyed.members.at(-1)
const receiver = new GroupStore(undefined, new KeyRing(last))
const history = keyed.store.ops(keyed.groupId).map((o) => o.opId)
const before = history.slice(0, history.length - ROUNDS)
receiver.ingest(keyed.store.getOps(keyed.groupId, before))
const applyTimes = withRotation.ops.map((o) => {
  const t = performance.now()
  const [r] = receiver.ingest([o.bytes])
  if (r.status !== 'applied') throw new Error(`the removal was ${r.status}`)
  return performance.now() - t
})
const k = receiver.keyAt(keyed.groupId, GROUP_SCOPE)
if (k.status !== 'ok') throw new Error(`the receiver holds no key after the removals (${k.status})`)

const scopes = 1 + CONTEXTS
report('governance.rotation.100_members.author_ms_p50', median(withRotation.times), 'ms', { scopes, recipients: MEMBERS - 2, withoutRotationMs: round(median(without.times)) })
report('governance.rotation.100_members.op_bytes', median(sizes), 'bytes', { scopes, withoutRotationBytes: median(without.ops.map((o) => o.bytes.length)), maxOpBytes: 64 * 1024 })
report('governance.rotation.100_members.receiver_apply_ms_p50', median(applyTimes), 'ms', { scopes })
