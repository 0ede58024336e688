import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isMeroError } from '../core/primitives/errors.js'
import { copyStore } from '../core/store/copy.js'
import { readEncryptionFile, storeExists } from '../core/store/encryption-record.js'
import { StoreCipher } from '../core/store/store-cipher.js'
import { Store, type StoreOpenOptions } from '../core/store/store.js'
import type { NodeHome } from '../home/paths.js'

/**
 * Encrypts an existing unencrypted node at rest, the first time it starts with a store key. Its
 * values cannot be sealed in place (RocksDB keeps a row's earlier versions in its table files
 * until a compaction the binding cannot ask for), so the store is copied into a new one whose
 * values are sealed (`data.encrypting/`), the blob chunk files are sealed into
 * `blobs.encrypting/`, and the new folders then take the old ones' place.
 *
 * A journal (`encrypting.json` in the node folder) makes it safe to kill at any moment: in its
 * `copy` phase the old folders are untouched and a new start copies again from scratch; once it
 * says `swap` the copies are complete, and a new start finishes the renames (each done only if
 * not done yet) before anything else. The old folders are deleted last (their disk blocks are
 * not overwritten: see docs/encryption-at-rest.md).
 */
const JOURNAL = 'encrypting.json'

export interface EncryptionOutcome {
  /** What was done: nothing to do, or the node's store and blobs sealed now. */
  encrypted: boolean
  rows?: number
  chunks?: number
}

/** Before the store opens: encrypts the node in place if it is unencrypted and a key was given. */
export async function encryptNodeIfNeeded(home: NodeHome, options: Pick<StoreOpenOptions, 'key' | 'keyWords'>): Promise<EncryptionOutcome> {
  const journal = join(home.dir, JOURNAL)
  const phase = readPhase(journal)
  if (phase === 'swap') {
    swap(home)
    rmSync(journal, { force: true })
    return { encrypted: true }
  }
  const staging = { data: `${home.data}.encrypting`, blobs: `${home.blobs}.encrypting` }
  const abandon = () => {
    rmSync(staging.data, { recursive: true, force: true })
    rmSync(staging.blobs, { recursive: true, force: true })
    rmSync(journal, { force: true })
  }
  if (!options.key || readEncryptionFile(home.data) || !storeExists(home.data)) {
    if (phase) abandon() // a copy a kill interrupted, and the key is gone: the node stays as it was
    return { encrypted: false }
  }
  abandon() // a copy a kill interrupted is made again from scratch
  writePhase(journal, 'copy')
  let rows: number | undefined
  let chunks: number
  try {
    rows = await copySealed(home.data, staging.data, options)
    if (rows === undefined) {
      abandon()
      return { encrypted: false }
    }
    chunks = sealChunks(home.blobs, staging.blobs, new StoreCipher(options.key))
  } catch (e) {
    abandon()
    throw e
  }
  writePhase(journal, 'swap')
  swap(home)
  rmSync(journal, { force: true })
  return { encrypted: true, rows, chunks }
}

/**
 * The journal's phase. A journal that cannot be read as one was cut short while being written,
 * before any folder moved: a copy phase (the old folders are intact; the copy is made again).
 */
function readPhase(journal: string): 'copy' | 'swap' | undefined {
  if (!existsSync(journal)) return undefined
  try {
    return (JSON.parse(readFileSync(journal, 'utf8')) as { phase: string }).phase === 'swap' ? 'swap' : 'copy'
  } catch {
    return 'copy'
  }
}

/** Writes the journal whole or not at all. */
function writePhase(journal: string, phase: 'copy' | 'swap'): void {
  writeFileSync(`${journal}.tmp`, JSON.stringify({ phase }), { mode: 0o600 })
  renameSync(`${journal}.tmp`, journal)
}

/**
 * Copies the unencrypted store at `from` into a new encrypted one at `to`: the rows it copied, or
 * undefined when there is nothing to do here (an empty store is encrypted by its open; a store
 * whose encryption file was lost but whose meta row says it is encrypted is refused by it).
 */
async function copySealed(from: string, to: string, options: Pick<StoreOpenOptions, 'key' | 'keyWords'>): Promise<number | undefined> {
  let source: Store
  try {
    source = await Store.open(from)
  } catch (e) {
    if (isMeroError(e, 'StoreKeyMissing')) return undefined
    throw e
  }
  try {
    if (source.isEmptyOfRows()) return undefined
    const target = await Store.open(to, options)
    try {
      const copy = await copyStore(source, target)
      return Object.values(copy.rows).reduce((a, b) => a + b, 0)
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}

/** Seals every chunk file of `from` into `to`, same layout; temporary files are left behind. */
function sealChunks(from: string, to: string, cipher: StoreCipher): number {
  mkdirSync(to, { recursive: true, mode: 0o700 })
  let n = 0
  if (!existsSync(from)) return n
  for (const folder of readdirSync(from)) {
    if (!/^[0-9a-f]{2}$/.test(folder)) continue
    mkdirSync(join(to, folder), { recursive: true, mode: 0o700 })
    for (const name of readdirSync(join(from, folder))) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue
      writeFileSync(join(to, folder, name), cipher.sealChunk(Buffer.from(name, 'hex'), readFileSync(join(from, folder, name))), { mode: 0o600 })
      n++
    }
  }
  return n
}

/** Puts the sealed copies in place of the old folders, each step only if not done yet; deletes the old ones. */
function swap(home: NodeHome): void {
  for (const dir of [home.data, home.blobs]) {
    const sealed = `${dir}.encrypting`
    const old = `${dir}.unencrypted`
    if (existsSync(sealed)) {
      if (existsSync(dir)) {
        rmSync(old, { recursive: true, force: true })
        renameSync(dir, old)
      }
      renameSync(sealed, dir)
    }
    rmSync(old, { recursive: true, force: true })
  }
}
