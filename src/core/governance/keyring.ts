import type { KeyPair } from '../crypto/ed25519.js'
import { hkdf32, x25519KeyPair } from '../crypto/sealed-box.js'
import { sha256 } from '../primitives/hash.js'
import type { Store, WriteBatch } from '../store/store.js'
import type { RotationRef } from './fold.js'
import type { SignedOp } from './ops.js'
import { groupOf } from './ops.js'
import { GROUP_SCOPE, keyIdOf, openEnvelope, scopeKey, type EnvelopeFault } from './rotation.js'

/**
 * The keys this node holds (DESIGN §6): one per rotation of a scope it was given (by an envelope
 * addressed to its identity, or by a peer over the authenticated sync stream, checked against the
 * key id the rotation names), kept in the `keys` column:
 *
 *   groupId ‖ scope (32 zero bytes for the group's topic, else the context id) ‖ rotation op id → key
 *
 * An epoch's key follows from the frontier of rotations at a position (GroupState.epochAt): one
 * rotation's key as it is; for concurrent rotations
 *
 *   HKDF-SHA-256(ikm = key₁ ‖ … ‖ keyₖ, salt = SHA-256(op id₁ ‖ … ‖ op idₖ), info = "mero.key.v1" ‖ groupId ‖ scope)
 *
 * in op id order, so that only an identity given every one of them derives it. The key id of any
 * key is SHA-256 of the key.
 */
export const KEY_DOMAIN = Buffer.from('mero.key.v1')
const GROUP_SCOPE_ID = Buffer.alloc(32)

export type KeyFault = EnvelopeFault | 'bad_component'

export interface HeldKey {
  key: Buffer
  keyId: Buffer
  groupId: string
  scope: string
}

const hex = (b: Buffer) => b.toString('hex')

function scopeBytes(scope: string): Buffer {
  return scope === GROUP_SCOPE ? GROUP_SCOPE_ID : Buffer.from(scope, 'hex')
}

export class KeyRing {
  /** groupId|scope|rotation → key. */
  private readonly components = new Map<string, Buffer>()
  /** Key id (hex) → the key: components and the epoch keys derived from them. */
  private readonly byId = new Map<string, HeldKey>()
  private readonly x25519: { publicKey: Buffer; secretKey: Buffer }
  /** Envelopes addressed to this node that it refused, and key components from peers that did not match. */
  readonly faults: Record<KeyFault, number> = { unopenable: 0, wrong_binding: 0, wrong_key: 0, bad_component: 0 }

  constructor(
    readonly identity: KeyPair,
    private readonly store?: Store,
  ) {
    this.x25519 = x25519KeyPair(identity.privateKey)
  }

  /** Loads the keys the store holds. */
  start(): void {
    if (!this.store) return
    for (const [k, v] of this.store.scan('keys')) {
      const groupId = hex(k.subarray(0, 32))
      const scopeId = k.subarray(32, 64)
      const scope = scopeId.equals(GROUP_SCOPE_ID) ? GROUP_SCOPE : hex(scopeId)
      this.remember(groupId, scope, hex(k.subarray(64, 96)), v)
    }
  }

  /** Every rotation key this node holds (for inspection and tests). */
  held(): { groupId: string; scope: string; rotationId: string; key: Buffer }[] {
    return [...this.components].map(([k, key]) => {
      const [groupId, scope, rotationId] = k.split('|') as [string, string, string]
      return { groupId, scope, rotationId, key }
    })
  }

  /** The key of one rotation of a scope, when this node holds it. */
  component(groupId: string, scope: string, rotationId: string): Buffer | undefined {
    return this.components.get(`${groupId}|${scope}|${rotationId}`)
  }

  /** A key this node holds, by its id (to open a sealed message). */
  byKeyId(keyId: Buffer): HeldKey | undefined {
    return this.byId.get(hex(keyId))
  }

  /**
   * Opens the envelope an applied op carries for this node's identity (if any) and keeps its
   * keys (in `batch`, when given). A refused envelope is counted and returned; the op stays
   * applied (others cannot tell), and the keys are fetched from a peer instead.
   */
  absorb(op: SignedOp, batch?: WriteBatch): { stored: number; fault?: EnvelopeFault } {
    const rot = op.rotation
    if (!rot) return { stored: 0 }
    const opened = openEnvelope(rot, { groupId: op.groupId, signer: op.signer, seq: op.seq }, this.identity.publicKey, this.x25519)
    if (!opened) return { stored: 0 }
    if ('fault' in opened) {
      this.faults[opened.fault]++
      return { stored: 0, fault: opened.fault }
    }
    const groupId = hex(groupOf(op))
    for (const { scope, key } of opened.keys) this.keep(groupId, scopeKey(scope), hex(op.id), key, batch)
    return { stored: opened.keys.length }
  }

  /**
   * Keeps a component from a peer if it is the key the rotation names (`keyId`); counts and
   * refuses it otherwise.
   */
  accept(groupId: string, scope: string, rotationId: string, expectedKeyId: Buffer, key: Buffer, batch?: WriteBatch): boolean {
    if (key.length !== 32 || !keyIdOf(key).equals(expectedKeyId)) {
      this.faults.bad_component++
      return false
    }
    this.keep(groupId, scope, rotationId, key, batch)
    return true
  }

  private keep(groupId: string, scope: string, rotationId: string, key: Buffer, batch?: WriteBatch): void {
    if (this.components.has(`${groupId}|${scope}|${rotationId}`)) return
    const row = Buffer.concat([Buffer.from(groupId, 'hex'), scopeBytes(scope), Buffer.from(rotationId, 'hex')])
    if (batch) batch.put('keys', row, key)
    else this.store?.put('keys', row, key)
    this.remember(groupId, scope, rotationId, key)
  }

  private remember(groupId: string, scope: string, rotationId: string, key: Buffer): void {
    this.components.set(`${groupId}|${scope}|${rotationId}`, key)
    const keyId = keyIdOf(key)
    this.byId.set(hex(keyId), { key, keyId, groupId, scope })
  }

  /**
   * The key of an epoch whose frontier is `frontier` (GroupState.epochAt), or the rotations whose
   * keys this node lacks.
   */
  derive(groupId: string, scope: string, frontier: readonly RotationRef[]): HeldKey | { missing: string[] } {
    const keys: Buffer[] = []
    const missing: string[] = []
    for (const r of frontier) {
      const k = this.component(groupId, scope, r.idHex)
      if (k) keys.push(k)
      else missing.push(r.idHex)
    }
    if (missing.length) return { missing }
    if (keys.length === 1) return this.byId.get(hex(frontier[0]!.keyId))!
    const ids = Buffer.concat(frontier.map((r) => Buffer.from(r.idHex, 'hex')))
    const key = hkdf32(Buffer.concat(keys), sha256(ids), Buffer.concat([KEY_DOMAIN, Buffer.from(groupId, 'hex'), scopeBytes(scope)]))
    const keyId = keyIdOf(key)
    const held = { key, keyId, groupId, scope }
    this.byId.set(hex(keyId), held)
    return held
  }
}
