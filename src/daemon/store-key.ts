import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { MeroError } from '../core/primitives/errors.js'
import type { StoreKeyWords } from '../core/store/encryption-record.js'
import type { StoreOpenOptions } from '../core/store/store.js'
import { generateStoreKey, STORE_KEY_BYTES, storeKeyId } from '../core/store/store-cipher.js'
import type { Config } from './config.js'

/**
 * The store key of encryption at rest (docs/encryption-at-rest.md): a file of 64 hex characters
 * (32 bytes; a trailing newline is allowed), mode 0600 or stricter, named by
 * `store.encryption_key_file` in config.toml or, overriding it, by $MERO_STORE_KEY_FILE. A
 * relative path is taken from the node's folder (where config.toml is).
 */
export const STORE_KEY_ENV = 'MERO_STORE_KEY_FILE'
const CONFIG_KEY = 'store.encryption_key_file'

export interface StoreKeySetting {
  path: string
  /** Where the path was set: the config file or the environment variable. */
  setBy: string
}

/** The key file this node's store uses, if any: $MERO_STORE_KEY_FILE, else the config key. */
export function storeKeySetting(config: Config, configPath: string, env: NodeJS.ProcessEnv = process.env): StoreKeySetting | undefined {
  const fromEnv = env[STORE_KEY_ENV]
  if (fromEnv) return { path: resolve(dirname(configPath), fromEnv), setBy: `$${STORE_KEY_ENV}` }
  const fromConfig = config.store.encryption_key_file
  if (fromConfig) return { path: isAbsolute(fromConfig) ? fromConfig : resolve(dirname(configPath), fromConfig), setBy: `${CONFIG_KEY} in ${configPath}` }
  return undefined
}

/** The key and the words for its errors, as Store.open takes them, for the node whose config this is. */
export function storeKeyOptions(config: Config, configPath: string): Pick<StoreOpenOptions, 'key' | 'keyWords'> {
  const setting = storeKeySetting(config, configPath)
  return { ...(setting ? { key: readStoreKeyFile(setting) } : {}), keyWords: storeKeyWords(setting, configPath) }
}

/** What the store's errors say about the key: where it came from, and how to give one. */
export function storeKeyWords(setting: StoreKeySetting | undefined, configPath: string): StoreKeyWords {
  return {
    ...(setting ? { source: `the key file ${setting.path} (${setting.setBy})` } : {}),
    howToGive: `set ${CONFIG_KEY} in ${configPath} (or $${STORE_KEY_ENV}) to the file holding its key`,
  }
}

function invalid(setting: StoreKeySetting, problem: string): MeroError {
  return new MeroError('ConfigInvalid', `${CONFIG_KEY}: the key file ${setting.path} (${setting.setBy}) ${problem}`, { key: CONFIG_KEY, file: setting.path })
}

/** Reads and checks a store key file: ConfigInvalid naming the key, the file and the problem. */
export function readStoreKeyFile(setting: StoreKeySetting): Buffer {
  let text: string
  let mode: number
  try {
    const st = statSync(setting.path)
    if (!st.isFile()) throw invalid(setting, 'is not a regular file')
    mode = st.mode & 0o777
    text = readFileSync(setting.path, 'utf8')
  } catch (e) {
    if (e instanceof MeroError) throw e
    const code = (e as NodeJS.ErrnoException).code
    throw invalid(setting, code === 'ENOENT' ? 'does not exist (`meroctl node init --encryption-key-file FILE` makes one for a new node)' : `cannot be read: ${(e as Error).message}`)
  }
  if (mode & 0o077) throw invalid(setting, `is readable or writable by group or others (mode ${mode.toString(8)}); run: chmod 600 ${setting.path}`)
  const hex = text.replace(/\r?\n$/, '')
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw invalid(setting, `is not a store key: it holds characters other than hex digits (a store key file is ${STORE_KEY_BYTES * 2} hex characters)`)
  if (hex.length !== STORE_KEY_BYTES * 2) throw invalid(setting, `is not a store key: it holds ${hex.length} hex characters, not ${STORE_KEY_BYTES * 2} (${STORE_KEY_BYTES} bytes)`)
  return Buffer.from(hex, 'hex')
}

/**
 * Makes a new store key file at `path` (mode 0600), refusing to overwrite one: an existing file
 * is checked and kept. Returns its key id and whether it was made now.
 */
export function createStoreKeyFile(path: string): { path: string; keyId: string; created: boolean } {
  const key = generateStoreKey()
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new MeroError('InvalidInput', `cannot create the store key file ${path}: ${(e as Error).message}`)
    return { path, keyId: storeKeyId(readStoreKeyFile({ path, setBy: '--encryption-key-file' })), created: false }
  }
  try {
    writeSync(fd, key.toString('hex') + '\n')
  } finally {
    closeSync(fd)
  }
  return { path, keyId: storeKeyId(key), created: true }
}
