import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { keyPairFromSeed } from '../../src/core/crypto/ed25519.js'
import { KeyRing } from '../../src/core/governance/keyring.js'
import { fromBase58 } from '../../src/core/primitives/encoding.js'
import { Store } from '../../src/core/store/store.js'

/** A stopped node's identity key pair, from its home. */
export function identityOf(nodeDir: string) {
  return keyPairFromSeed(fromBase58(JSON.parse(readFileSync(join(nodeDir, 'identity.key'), 'utf8')).privateKey))
}

/**
 * Every key a stopped node ever received (what a modified node, or a copy of its data folder,
 * keeps): the rows of its keys column.
 */
export async function keysHeldBy(nodeDir: string): Promise<{ groupId: string; scope: string; rotationId: string; key: Buffer }[]> {
  const store = await Store.open(join(nodeDir, 'data'))
  try {
    const ring = new KeyRing(identityOf(nodeDir), store)
    ring.start()
    return ring.held()
  } finally {
    await store.close()
  }
}
