import type { Migration } from '../store/schema.js'

/**
 * The store's schema versions and the migrations between them (core/store/schema.ts runs them).
 * Bump SCHEMA_VERSION with each change to what a column holds, and add the migration from the
 * version before.
 *
 * 1: versions are recorded. Node-local aliases named "." or ".." (accepted before, refused since:
 *    they read as paths) are dropped.
 * 2: the state column holds the new collection kinds (sorted maps and sets, registers, grow-only
 *    counters, text) and the `private` column node-local storage. Nothing older changes form, so
 *    the migration only records the version; it is there so that a merod of version 1, which
 *    cannot decode the new kinds, refuses the store instead of misreading it.
 * 3: key epochs (issue 16): keys live in the `keys` column, one per rotation of a scope
 *    (governance/keyring.ts); the single key per context of `contextKeys` is retired and its rows
 *    deleted (a copy of the data folder should not carry keys nothing uses). A group whose ops
 *    carry no rotation is rekeyed by a member's KeyRotated op once its nodes run this version.
 */
export const SCHEMA_VERSION = 3

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
  {
    from: 1,
    description: 'new collection kinds in the state column and the private column (nothing to convert)',
    run: () => '',
  },
  {
    from: 2,
    description: 'key epochs: the single context keys of contextKeys are retired',
    run(store, batch) {
      let dropped = 0
      for (const [key] of store.scan('contextKeys')) {
        batch.del('contextKeys', key)
        dropped++
      }
      return dropped ? `${dropped} context key${dropped > 1 ? 's' : ''} dropped` : ''
    },
  },
]
