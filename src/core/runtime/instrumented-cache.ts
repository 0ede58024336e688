import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Reader, Writer } from '../primitives/borsh.js'
import { sha256 } from '../primitives/hash.js'

/**
 * Instrumented modules kept between runs (the node's store), so that a daemon restart does not
 * instrument its applications again: loading binaryen and instrumenting kv-store took about
 * 0.5 s, which the first call after every restart waited for.
 *
 * A record is keyed by the application id and a fingerprint of everything its bytes follow from:
 * the runtime's own code (every source file of this directory), binaryen's version and the
 * memory cap. A new build or another cap misses and instruments again; nothing has to remember to
 * bump a version. A record that does not decode is ignored and made again.
 */
export interface InstrumentedStore {
  get(key: Buffer): Uint8Array | undefined
  /**
   * Keeps the record as the application's only one: those of earlier builds or caps (the key's
   * first 32 bytes are the application id) are dropped, so that upgrades leave none behind.
   */
  put(key: Buffer, record: Uint8Array): void
  /** Drops every record of an application (it was uninstalled). */
  deleteApplication(applicationId: Buffer): void
}

/** What instrumentation produced for a module: all that a load needs besides the checks. */
export interface InstrumentedRecord {
  instrumented: Uint8Array
  entryPoints: string[]
  maxMemoryPages: number
  initialMemoryPages: number
  start?: string
}

const DOMAIN = Buffer.from('mero.instrumented.v1')
const MAX_ENTRY_POINTS = 65_536
const MAX_NAME = 65_536

let codeId: Buffer | undefined

/** SHA-256 over this directory's source files (by name) and binaryen's version; read once. */
function runtimeCodeId(): Buffer {
  if (codeId) return codeId
  const dir = dirname(fileURLToPath(import.meta.url))
  const parts: Buffer[] = []
  for (const name of readdirSync(dir).sort()) {
    if (!/\.(js|ts)$/.test(name) || name.endsWith('.d.ts')) continue
    parts.push(Buffer.from(`${name}\0`), sha256(readFileSync(join(dir, name))))
  }
  const binaryen = createRequire(import.meta.url)('binaryen/package.json') as { version: string }
  parts.push(Buffer.from(`binaryen@${binaryen.version}`))
  codeId = sha256(Buffer.concat(parts))
  return codeId
}

/** The store key of an application's record under this build and memory cap. */
export function recordKey(applicationId: Buffer, maxMemoryPages: number): Buffer {
  const cap = Buffer.alloc(4)
  cap.writeUInt32BE(maxMemoryPages)
  return Buffer.concat([applicationId, sha256(Buffer.concat([DOMAIN, runtimeCodeId(), cap]))])
}

export function encodeRecord(r: InstrumentedRecord): Buffer {
  const w = new Writer(r.instrumented.length + 256).bytes(r.instrumented)
  w.vec(r.entryPoints, (e) => w.string(e))
  w.u32(r.maxMemoryPages).u32(r.initialMemoryPages)
  w.option(r.start, (s) => w.string(s))
  return w.finish()
}

/** Throws on a record that does not decode. */
export function decodeRecord(bytes: Uint8Array): InstrumentedRecord {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'instrumented module record')
  const instrumented = Buffer.from(r.bytes(bytes.length))
  const entryPoints = r.vec(() => r.string(MAX_NAME), MAX_ENTRY_POINTS, 'entry points')
  const maxMemoryPages = r.u32()
  const initialMemoryPages = r.u32()
  const start = r.option(() => r.string(MAX_NAME))
  r.end()
  return { instrumented, entryPoints, maxMemoryPages, initialMemoryPages, ...(start !== undefined ? { start } : {}) }
}
