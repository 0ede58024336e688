import { Args, Flags } from '@oclif/core'
import type { CapabilityName } from '../api/methods.js'

/** Flags shared by several commands, declared once. */
export const yesFlag = Flags.boolean({ char: 'y', description: 'do not ask for confirmation' })

/** -q: only the id(s) of the result, one per line, for pipes. */
export const quietFlag = Flags.boolean({ char: 'q', description: 'print only the id(s), one per line', exclusive: ['json'] })
/** Lists: --wide (full ids, no fitting to the terminal) and -q. */
export const listFlags = {
  wide: Flags.boolean({ char: 'w', description: 'full ids, and columns as wide as they need (tables fit the terminal otherwise)' }),
  quiet: quietFlag,
}
/** How long a repaired or restored node waits for a peer before it catches up. */
export const waitForPeerFlag = Flags.integer({ description: 'seconds to wait for a peer before catching up', default: 10, min: 0, max: 600 })

export const initFlags = {
  listen: Flags.string({ description: 'libp2p listen multiaddr (repeatable) [default: /ip4/0.0.0.0/tcp/2428, or the next free port]', multiple: true }),
  bootstrap: Flags.string({ description: 'bootstrap peer multiaddr ending in /p2p/<peer id> (repeatable)', multiple: true }),
  force: Flags.boolean({ description: "replace an existing node's identity, config and data" }),
  'encryption-key-file': Flags.string({
    description: 'encrypt the store at rest under the key in this file (64 hex characters, made with mode 0600 when absent; sets store.encryption_key_file). Without it the node does not start and its data and backups cannot be read: keep a copy apart from them',
    helpValue: 'FILE',
  }),
}

/** What an alias names (alias commands). */
export const kindFlag = Flags.string({ char: 'k', description: 'what the alias names', options: ['context', 'application', 'identity', 'group'], required: true })

/** --can-<capability> / --no-can-<capability>: grant or revoke; unspecified ones are left as they are. */
export const capabilityFlags = {
  'can-create-context': Flags.boolean({ description: 'may create contexts (bit 1)', allowNo: true }),
  'can-invite-members': Flags.boolean({ description: 'may invite members (bit 2)', allowNo: true }),
  'can-join-open-contexts': Flags.boolean({ description: 'may join open contexts (bit 4)', allowNo: true }),
  'can-manage-members': Flags.boolean({ description: 'may add and remove members (bit 8)', allowNo: true }),
  'can-manage-application': Flags.boolean({ description: "may change the group's application (bit 16)", allowNo: true }),
}

/** {grant, revoke} capability names from the --can-* flags that were given. */
export function capabilityChanges(flags: Record<string, unknown>): { grant: CapabilityName[]; revoke: CapabilityName[] } {
  const grant: CapabilityName[] = []
  const revoke: CapabilityName[] = []
  for (const key of Object.keys(capabilityFlags)) {
    const v = flags[key]
    if (v === true) grant.push(key.slice(4) as CapabilityName)
    if (v === false) revoke.push(key.slice(4) as CapabilityName)
  }
  return { grant, revoke }
}

export const roleFlag = Flags.string({ description: 'role of the new members', options: ['admin', 'member', 'read-only'], default: 'member' })

/** Arguments shared by the group and invitation commands. */
export const groupArg = Args.string({ description: 'group id (64 hex) or alias', required: true })
export const identityArg = Args.string({ description: 'identity (base58 public key) or identity alias', required: true })
export const contextArg = Args.string({ description: 'context id (base58) or alias', required: true })
