import { Flags } from '@oclif/core'

/** Flags shared by several commands, declared once. */
export const yesFlag = Flags.boolean({ char: 'y', description: 'do not ask for confirmation' })

export const initFlags = {
  listen: Flags.string({ description: 'libp2p listen multiaddr (repeatable) [default: /ip4/0.0.0.0/tcp/2428, or the next free port]', multiple: true }),
  bootstrap: Flags.string({ description: 'bootstrap peer multiaddr ending in /p2p/<peer id> (repeatable)', multiple: true }),
  force: Flags.boolean({ description: "replace an existing node's identity, config and data" }),
}

/** What an alias names (alias commands). */
export const kindFlag = Flags.string({ char: 'k', description: 'what the alias names', options: ['context', 'application', 'identity', 'group'], required: true })
