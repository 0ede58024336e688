import { fromBase58, fromHex, toBase58, toHex, isHex32, isBase58Id32 } from './encoding.js'
import { MeroError } from './errors.js'

/**
 * Identifier conventions (DESIGN §5): public keys, context ids, application ids and blob ids are
 * 32 bytes shown in base58; group ids and op ids are 32 bytes shown in hex.
 */
export const ID_LENGTH = 32

export const publicKeyToString = toBase58
export const parsePublicKey = (s: string, what = 'identity') => fromBase58(s, what, ID_LENGTH)
export const groupIdToString = toHex
export const parseGroupId = (s: string, what = 'group id') => fromHex(s, what, ID_LENGTH)
export const opIdToString = toHex
export const parseOpId = (s: string, what = 'op id') => fromHex(s, what, ID_LENGTH)
export const contextIdToString = toBase58
export const parseContextId = (s: string, what = 'context id') => fromBase58(s, what, ID_LENGTH)
export const applicationIdToString = toBase58
export const parseApplicationId = (s: string, what = 'application id') => fromBase58(s, what, ID_LENGTH)
export const blobIdToString = toBase58
export const parseBlobId = (s: string, what = 'blob id') => fromBase58(s, what, ID_LENGTH)

export { isHex32, isBase58Id32 }

/**
 * Inside src/core every id travels as its bytes; the strings above are for the edges (RPC, CLI,
 * events, logs, JSON records in the store). A JavaScript Map compares Buffers by identity, so a
 * part that keys a Map by id keys it by `idKey` (the id's hex), and gets the bytes back with
 * `idOfKey`. Such keys stay inside the part that holds the Map.
 */
export const idKey = (id: Uint8Array): string => toHex(id)
export const idOfKey = (key: string): Buffer => Buffer.from(key, 'hex')
/** Ids sorted by their bytes (the order of their hex). */
export const byIdBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)

/**
 * Aliases name contexts, applications, identities and groups: `[A-Za-z0-9._-]{1,50}`, but not
 * "." or ".." (they read as paths). Governance ops decode aliases with the older rule (ops.ts):
 * ops already signed with such a name must still replay.
 */
export const ALIAS_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,50}$/
export const ALIAS_RULE = "1 to 50 characters of A-Z, a-z, 0-9, '.', '_' or '-', other than '.' and '..'"

export function validateAlias(alias: string): string {
  if (!ALIAS_PATTERN.test(alias)) throw new MeroError('InvalidInput', `alias '${alias}' is invalid: use ${ALIAS_RULE}`)
  return alias
}

// An Ed25519 libp2p peer id is the identity multihash of the protobuf-encoded public key:
// 0x00 (identity) 0x24 (36 bytes) | 0x08 0x01 (KeyType Ed25519) 0x12 0x20 (32 bytes of key).
const PEER_ID_PREFIX = Buffer.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])

/** The libp2p peer id (base58btc, "12D3KooW...") of an Ed25519 public key, without importing libp2p. */
export function peerIdFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== ID_LENGTH) throw new MeroError('InvalidInput', 'an Ed25519 public key is 32 bytes')
  return toBase58(Buffer.concat([PEER_ID_PREFIX, publicKey]))
}

/** The Ed25519 public key inside a peer id, or undefined when the peer id is not an Ed25519 one. */
export function publicKeyFromPeerId(peerId: string): Buffer | undefined {
  try {
    const bytes = fromBase58(peerId, 'peer id')
    if (bytes.length !== 38 || !bytes.subarray(0, 6).equals(PEER_ID_PREFIX)) return undefined
    return bytes.subarray(6)
  } catch {
    return undefined
  }
}
