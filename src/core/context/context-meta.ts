import { MeroError } from '../primitives/errors.js'
import { applicationIdToString, contextIdToString, groupIdToString, parseApplicationId, parseContextId, parseGroupId, publicKeyToString, parsePublicKey } from '../primitives/ids.js'
import { fromHex, toHex } from '../primitives/encoding.js'

/** What a node keeps about a context it holds (column 'context'), ids as bytes. */
export interface ContextMeta {
  contextId: Buffer
  groupId: Buffer
  applicationId: Buffer
  creator: Buffer
  createdAt: number
  /** The context's DAG heads (delta ids). */
  heads: Buffer[]
  rootHash: Buffer
  deltas: number
  /**
   * An application this context is moving to whose migration has not committed yet: a node
   * stopped meanwhile (killed, say) runs the migration again at start (resumeUpgrades).
   */
  upgrading?: Buffer
}

/**
 * The same, as the store keeps it (JSON) and the RPC shows it: contexts, applications and the
 * creator in base58, the group, heads and root hash in hex. Fields in this order.
 */
export interface ContextMetaJson {
  contextId: string
  groupId: string
  applicationId: string
  creator: string
  createdAt: number
  heads: string[]
  rootHash: string
  deltas: number
  upgrading?: string
}

export function contextMetaJson(m: ContextMeta): ContextMetaJson {
  return {
    contextId: contextIdToString(m.contextId),
    groupId: groupIdToString(m.groupId),
    applicationId: applicationIdToString(m.applicationId),
    creator: publicKeyToString(m.creator),
    createdAt: m.createdAt,
    heads: m.heads.map(toHex),
    rootHash: toHex(m.rootHash),
    deltas: m.deltas,
    ...(m.upgrading ? { upgrading: applicationIdToString(m.upgrading) } : {}),
  }
}

/** The stored record of a context (the JSON it has always been: no migration). */
export function encodeContextMeta(m: ContextMeta): Buffer {
  return Buffer.from(JSON.stringify(contextMetaJson(m)))
}

export function decodeContextMeta(bytes: Uint8Array): ContextMeta {
  let j: ContextMetaJson
  try {
    j = JSON.parse(Buffer.from(bytes).toString('utf8')) as ContextMetaJson
  } catch (e) {
    throw new MeroError('Internal', `a stored context record is not JSON: ${(e as Error).message}`)
  }
  return {
    contextId: parseContextId(j.contextId),
    groupId: parseGroupId(j.groupId),
    applicationId: parseApplicationId(j.applicationId),
    // contexts adopted before a join named their creator stored it empty
    creator: j.creator ? parsePublicKey(j.creator, 'creator') : Buffer.alloc(0),
    createdAt: j.createdAt,
    heads: j.heads.map((h) => fromHex(h, 'head', 32)),
    rootHash: fromHex(j.rootHash, 'root hash', 32),
    deltas: j.deltas,
    ...(j.upgrading ? { upgrading: parseApplicationId(j.upgrading, 'upgrading application id') } : {}),
  }
}
