import { MeroError } from '../primitives/errors.js'

/**
 * RocksDB's errors as typed MeroErrors, classified from the status the binding reports
 * (`code`: LEVEL_CORRUPTION, LEVEL_LOCKED, LEVEL_IO_ERROR) and named in the message: corruption,
 * lock, I/O, a missing file. Matching words in the message misled before: "block checksum
 * mismatch" contains "lock".
 */
interface BindingError {
  code?: string
  message: string
}

/** The binding's own error inside abstract-level's wrapper (open wraps it as `cause`). */
function bindingError(e: unknown): BindingError {
  const err = e as Error & { code?: string; cause?: Error & { code?: string } }
  return err.cause?.message ? { code: err.cause.code, message: err.cause.message } : { code: err.code, message: err.message ?? String(e) }
}

const MISSING = /No such file or directory|does not exist/
const FILE_IN_MESSAGE = /([^\s:]*(?:\d+\.(?:sst|log|blob)|MANIFEST-\d+|CURRENT|OPTIONS-\d+))\b/

/** The file RocksDB's message names, if any. */
export function fileNamed(message: string): string | undefined {
  return FILE_IN_MESSAGE.exec(message)?.[1]
}

export function classifyStoreError(e: unknown, location: string, doing: string): MeroError {
  if (e instanceof MeroError) return e
  const { code, message: raw } = bindingError(e)
  const message = raw.trim().replace(/\.+$/, '')
  const file = fileNamed(message)
  const details = { rocksdb: message, ...(code ? { status: code } : {}), ...(file ? { file } : {}) }
  if (code === 'LEVEL_LOCKED') {
    return new MeroError('AlreadyRunning', `the database at ${location} is locked by another process (another merod of this node?)`, details)
  }
  if (MISSING.test(message)) {
    return new MeroError('StoreFileMissing', `the database at ${location} is missing a file${file ? ` (${file})` : ''} while ${doing}: ${message}. Restore a backup (\`meroctl node restore\`), or make the node again and re-join its groups`, details)
  }
  if (code === 'LEVEL_CORRUPTION') {
    return new MeroError('StoreCorrupted', `the database at ${location} is corrupt${file ? ` in ${file}` : ''} (found while ${doing}): ${message}. Restore a backup (\`meroctl node restore\`), or make the node again and re-join its groups`, details)
  }
  if (code === 'LEVEL_IO_ERROR') {
    return new MeroError('StoreIoError', `an I/O error on the database at ${location} while ${doing}${file ? ` (${file})` : ''}: ${message}`, details)
  }
  return new MeroError('Internal', `the database at ${location} failed while ${doing}: ${message}`, details)
}
