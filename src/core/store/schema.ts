import { MeroError } from '../primitives/errors.js'
import { COLUMNS } from './columns.js'
import type { Store, WriteBatch } from './store.js'

/**
 * The store's schema version, in the `meta` column. A store newer than this build is refused
 * before anything reads it; an older one is brought up to date by migrations, each in one write
 * batch with the version that follows it, so an interrupted migration is either done or not.
 */
export const SCHEMA_VERSION_KEY = Buffer.from('schema-version')

export interface Migration {
  /** The version it migrates from (to `from + 1`). */
  from: number
  /** What it does, for the log. */
  description: string
  /** Adds its changes to `batch`; returns a short account of what it changed. */
  run(store: Store, batch: WriteBatch): string
}

export interface SchemaOutcome {
  /** The version found (0: a store written before versions were recorded). */
  found: number
  version: number
  /** One line per migration applied. */
  migrated: string[]
  /** The store was empty: stamped with the current version. */
  created: boolean
}

export function schemaVersionOf(store: Store): number | undefined {
  const v = store.get('meta', SCHEMA_VERSION_KEY)
  if (!v) return undefined
  if (v.length !== 4) throw new MeroError('StoreCorrupted', `the schema version in the database at ${store.location} is ${v.length} bytes, not 4`)
  return v.readUInt32BE(0)
}

export function writeSchemaVersion(batch: WriteBatch, version: number): void {
  const v = Buffer.alloc(4)
  v.writeUInt32BE(version)
  batch.put('meta', SCHEMA_VERSION_KEY, v)
}

/**
 * Checks the store's version against `current` and runs the migrations from it. Throws
 * StoreVersionUnsupported, changing nothing, when the store is newer than `current`.
 */
export function applySchema(store: Store, current: number, migrations: readonly Migration[], build: string): SchemaOutcome {
  const recorded = schemaVersionOf(store)
  if (recorded === undefined && isEmpty(store)) {
    const batch = store.batch()
    writeSchemaVersion(batch, current)
    batch.write()
    return { found: current, version: current, migrated: [], created: true }
  }
  const found = recorded ?? 0
  if (found > current) {
    throw new MeroError(
      'StoreVersionUnsupported',
      `the database at ${store.location} has schema version ${found}, newer than the ${current} this merod (${build}) reads: it was written by a newer merod. Run that version (or newer), or restore a backup made with this one; nothing was changed`,
      { found, supported: current },
    )
  }
  const migrated: string[] = []
  for (let v = found; v < current; v++) {
    const m = migrations.find((x) => x.from === v)
    if (!m) throw new MeroError('Internal', `no migration from schema version ${v} to ${v + 1}`)
    const batch = store.batch()
    const account = m.run(store, batch)
    writeSchemaVersion(batch, v + 1)
    batch.write()
    migrated.push(`${v} → ${v + 1}: ${m.description}${account ? ` (${account})` : ''}`)
  }
  return { found, version: current, migrated, created: false }
}

function isEmpty(store: Store): boolean {
  return COLUMNS.every((c) => c === 'meta' || store.scan(c, { limit: 1 }).length === 0)
}
