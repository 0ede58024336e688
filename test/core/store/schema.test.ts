import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/core/node/migrations.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'
import { crc32c, maskCrc } from '../../../src/core/store/crc32c.js'
import { applySchema, schemaVersionOf, writeSchemaVersion } from '../../../src/core/store/schema.js'
import { Store } from '../../../src/core/store/store.js'

describe('the schema version in the meta column', () => {
  let dir: string
  let store: Store
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mero-schema-'))
    store = await Store.open(join(dir, 'data'))
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('an empty store is stamped with the current version', () => {
    expect(applySchema(store, SCHEMA_VERSION, MIGRATIONS, 'test')).toEqual({ found: SCHEMA_VERSION, version: SCHEMA_VERSION, migrated: [], created: true })
    expect(schemaVersionOf(store)).toBe(SCHEMA_VERSION)
  })

  it('a store of version 2 loses its retired single context keys at 3; the keys of epochs stay', () => {
    const b = store.batch()
    writeSchemaVersion(b, 2)
    b.put('contextKeys', Buffer.alloc(32, 1), Buffer.alloc(32, 9)).put('contextKeys', Buffer.alloc(32, 2), Buffer.alloc(32, 9)).put('keys', Buffer.alloc(96, 3), Buffer.alloc(32, 7)).write()
    const outcome = applySchema(store, SCHEMA_VERSION, MIGRATIONS, 'test')
    expect(outcome.migrated[0]).toBe('2 → 3: key epochs: the single context keys of contextKeys are retired (2 context keys dropped)')
    expect(store.scan('contextKeys')).toEqual([])
    expect(store.scan('keys')).toHaveLength(1)
  })

  it('an unversioned store with rows is version 0 and migrated: the "." and ".." aliases go, the rest stays', () => {
    const alias = (kind: number, name: string) => Buffer.concat([Buffer.from([kind]), Buffer.from(name)])
    store.batch().put('alias', alias(1, '.'), Buffer.from('ctx')).put('alias', alias(2, '..'), Buffer.from('app')).put('alias', alias(1, 'notes'), Buffer.from('ctx')).put('alias', alias(1, '...'), Buffer.from('ctx')).write()
    const outcome = applySchema(store, SCHEMA_VERSION, MIGRATIONS, 'test')
    expect(outcome).toMatchObject({ found: 0, version: SCHEMA_VERSION, created: false })
    expect(outcome.migrated[0]).toBe('0 → 1: record the schema version; drop node-local aliases named "." or ".." (2 aliases dropped)')
    expect(outcome.migrated).toHaveLength(SCHEMA_VERSION)
    expect(store.scan('alias').map(([k]) => k.subarray(1).toString()).sort()).toEqual(['...', 'notes'])
    expect(schemaVersionOf(store)).toBe(SCHEMA_VERSION)
    // a second start finds it current
    expect(applySchema(store, SCHEMA_VERSION, MIGRATIONS, 'test').migrated).toEqual([])
  })

  it('a newer store is refused and left unchanged', () => {
    const b = store.batch()
    writeSchemaVersion(b, SCHEMA_VERSION + 1)
    b.put('context', Buffer.from('x'), Buffer.from('y')).write()
    let error: unknown
    try {
      applySchema(store, SCHEMA_VERSION, MIGRATIONS, '9.9.9')
    } catch (e) {
      error = e
    }
    expect(isMeroError(error, 'StoreVersionUnsupported')).toBe(true)
    expect((error as Error).message).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION} this merod \\(9\\.9\\.9\\) reads`))
    expect(schemaVersionOf(store)).toBe(SCHEMA_VERSION + 1)
  })
})

describe('CRC-32C as RocksDB stores it', () => {
  it('matches the standard check value and RocksDB masking', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
    expect(crc32c(Buffer.from('56789'), crc32c(Buffer.from('1234')))).toBe(0xe3069283)
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa) // RFC 3720 B.4: 32 bytes of zeros
    expect(maskCrc(0)).toBe(0xa282ead8)
  })
})
