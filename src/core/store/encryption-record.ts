import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { MeroError } from '../primitives/errors.js'
import type { StoreCipher } from './store-cipher.js'

/**
 * That a store is encrypted, and under which key (its key id), is recorded twice: in the `meta`
 * column (row `encryption`), the store's own word, and in `data/MERO-ENCRYPTION` beside
 * RocksDB's files, read before RocksDB opens. Opening RocksDB changes files (a new MANIFEST, the
 * logs replayed into tables), so the file is what lets a start without the right key be refused
 * with the data folder exactly as it was. The row is checked after the open as well: a store
 * whose file was deleted is still refused (its data unread, though RocksDB's own files moved).
 */
export const ENCRYPTION_FILE = 'MERO-ENCRYPTION'
export const ENCRYPTION_META_KEY = Buffer.from('encryption')

const RecordSchema = z.object({ format: z.literal(1), cipher: z.literal('xchacha20poly1305-ietf'), keyId: z.string().regex(/^[0-9a-f]{32}$/) }).strict()
export type EncryptionRecord = z.infer<typeof RecordSchema>

/** Where the store key came from and how an operator gives one: words for the errors. */
export interface StoreKeyWords {
  /** e.g. "the key file /k (store.encryption_key_file)". */
  source?: string
  /** e.g. "set store.encryption_key_file in /n/config.toml to the file holding its key". */
  howToGive?: string
}

export function recordFor(cipher: StoreCipher): EncryptionRecord {
  return { format: 1, cipher: 'xchacha20poly1305-ietf', keyId: cipher.keyId }
}

export function encodeRecord(record: EncryptionRecord): Buffer {
  return Buffer.from(JSON.stringify(record))
}

export function decodeRecord(bytes: Uint8Array, where: string): EncryptionRecord {
  try {
    return RecordSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')))
  } catch {
    throw new MeroError('StoreCorrupted', `the encryption record ${where} is damaged: it is not {format, cipher, keyId}. Restore a backup (\`meroctl node restore\`); nothing was changed`)
  }
}

/** The data folder's encryption file, if there is one. */
export function readEncryptionFile(location: string): EncryptionRecord | undefined {
  const path = join(location, ENCRYPTION_FILE)
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new MeroError('StoreIoError', `cannot read ${path}: ${(e as Error).message}`)
  }
  return decodeRecord(bytes, `in ${path}`)
}

/** Writes the encryption file whole or not at all (a temporary file, fsync, rename). */
export function writeEncryptionFile(location: string, record: EncryptionRecord): void {
  mkdirSync(location, { recursive: true, mode: 0o700 })
  const path = join(location, ENCRYPTION_FILE)
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, encodeRecord(record))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}

/** A store made before: RocksDB's CURRENT file is there. */
export function storeExists(location: string): boolean {
  return existsSync(join(location, 'CURRENT'))
}

export function keyMissing(location: string, record: EncryptionRecord, words: StoreKeyWords): MeroError {
  return new MeroError(
    'StoreKeyMissing',
    `the store at ${location} is encrypted (key id ${record.keyId}) and no store key was given${words.howToGive ? `: ${words.howToGive}` : ''}. Nothing was changed`,
    { keyId: record.keyId },
  )
}

export function keyWrong(location: string, record: EncryptionRecord, cipher: StoreCipher, words: StoreKeyWords): MeroError {
  return new MeroError(
    'StoreKeyWrong',
    `${words.source ?? 'the store key given'} is not this store's key: it has key id ${cipher.keyId}, the store at ${location} was encrypted under key id ${record.keyId}. Give the key file it was made with; nothing was changed`,
    { keyId: cipher.keyId, storeKeyId: record.keyId },
  )
}

export function storeNotEncrypted(location: string, words: StoreKeyWords): MeroError {
  return new MeroError(
    'StoreKeyWrong',
    `the store at ${location} is not encrypted, and ${words.source ?? 'a store key'} was given: a node's store is encrypted when its daemon starts with the key (\`meroctl node start\`), not here. Nothing was changed`,
  )
}

/**
 * Before RocksDB opens: refuses, changing nothing, an encrypted store without a key or with
 * another key. A new store that will be encrypted gets its file first.
 */
export function checkEncryptionBeforeOpen(location: string, cipher: StoreCipher | undefined, words: StoreKeyWords): void {
  const record = readEncryptionFile(location)
  if (record && !cipher) throw keyMissing(location, record, words)
  if (record && cipher && record.keyId !== cipher.keyId) throw keyWrong(location, record, cipher, words)
  if (!record && cipher) {
    if (storeExists(location)) return // decided after the open, from the meta row and the rows
    writeEncryptionFile(location, recordFor(cipher))
  }
}
