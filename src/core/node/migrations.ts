import type { Migration } from '../store/schema.js'

/**
 * The store's schema versions and the migrations between them (core/store/schema.ts runs them).
 * Bump SCHEMA_VERSION with each change to what a column holds, and add the migration from the
 * version before.
 *
 * 1: versions are recorded. Node-local aliases named "." or ".." (accepted before, refused since:
 *    they read as paths) are dropped.
 */
export const SCHEMA_VERSION = 1

const ALIAS_KIND_BYTES = 1
const DOT_NAMES = new Set(['.', '..'])

export const MIGRATIONS: readonly Migration[] = [
  {
    from: 0,
    description: 'record the schema version; drop node-local aliases named "." or ".."',
    run(store, batch) {
      let dropped = 0
      for (const [key] of store.scan('alias')) {
        if (DOT_NAMES.has(key.subarray(ALIAS_KIND_BYTES).toString('utf8'))) {
          batch.del('alias', key)
          dropped++
        }
      }
      return dropped ? `${dropped} alias${dropped > 1 ? 'es' : ''} dropped` : ''
    },
  },
]
