import { sha256Of } from '../primitives/hash.js'

/** Row keys: 'state' = contextId ‖ entityId; 'stateIndex' = contextId ‖ parentId ‖ sort key; 'private' (below). */
export function stateKey(contextId: Uint8Array, id: Uint8Array): Buffer {
  const k = Buffer.allocUnsafe(64)
  k.set(contextId, 0)
  k.set(id, 32)
  return k
}

export function indexPrefix(contextId: Uint8Array, parent: Uint8Array): Buffer {
  const k = Buffer.allocUnsafe(64)
  k.set(contextId, 0)
  k.set(parent, 32)
  return k
}

export function indexKey(contextId: Uint8Array, parent: Uint8Array, sortKey: Uint8Array): Buffer {
  const k = Buffer.allocUnsafe(64 + sortKey.length)
  k.set(contextId, 0)
  k.set(parent, 32)
  k.set(sortKey, 64)
  return k
}

/** 'private' = contextId ‖ SHA-256(key): node-local private storage (any key length, fixed-width rows). */
export function privateKey(contextId: Uint8Array, key: Uint8Array): Buffer {
  const k = Buffer.allocUnsafe(64)
  k.set(contextId, 0)
  k.set(sha256Of(key), 32)
  return k
}
