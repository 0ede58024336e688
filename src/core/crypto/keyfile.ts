import { readFileSync, writeFileSync, statSync } from 'node:fs'
import { z } from 'zod'
import { fromBase58, toBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { keyPairFromSeed, type KeyPair } from './ed25519.js'

/** `identity.key`: the node's Ed25519 key pair, JSON, mode 0600. */
const KeyFileSchema = z.object({
  type: z.literal('ed25519'),
  privateKey: z.string(),
  publicKey: z.string(),
})

export function writeKeyFile(path: string, pair: KeyPair): void {
  const body = JSON.stringify({ type: 'ed25519', privateKey: toBase58(pair.privateKey), publicKey: toBase58(pair.publicKey) }, null, 2)
  writeFileSync(path, body + '\n', { mode: 0o600, flag: 'w' })
}

export function readKeyFile(path: string): KeyPair {
  let raw: string
  try {
    raw = readFileSync(path, 'utf8')
  } catch (e) {
    throw new MeroError('NodeNotInitialized', `cannot read the identity key at ${path}: ${(e as Error).message}`)
  }
  const mode = statSync(path).mode & 0o777
  if (mode & 0o077) {
    throw new MeroError('InsecurePermissions', `the identity key ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`)
  }
  let parsed: z.infer<typeof KeyFileSchema>
  try {
    parsed = KeyFileSchema.parse(JSON.parse(raw))
  } catch {
    throw new MeroError('ConfigInvalid', `the identity key at ${path} is not a valid mero key file`)
  }
  let pair: KeyPair
  try {
    pair = keyPairFromSeed(fromBase58(parsed.privateKey, 'private key', 32))
  } catch (e) {
    throw new MeroError('ConfigInvalid', `the identity key at ${path} is not a valid mero key file: ${(e as Error).message}`)
  }
  if (toBase58(pair.publicKey) !== parsed.publicKey) {
    throw new MeroError('ConfigInvalid', `the identity key at ${path} is inconsistent: its public key does not match its private key`)
  }
  return pair
}
