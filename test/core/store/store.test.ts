import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../../src/core/store/store.js'

describe('Store', () => {
  let dir: string
  let store: Store
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mero-store-'))
    store = await Store.open(join(dir, 'data'))
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('writes batches atomically across columns and reads synchronously', () => {
    store.batch().put('groupOps', Buffer.from('a1'), Buffer.from('x')).put('context', Buffer.from('k'), Buffer.from('y')).write()
    expect(store.get('groupOps', Buffer.from('a1'))?.toString()).toBe('x')
    expect(store.get('context', Buffer.from('k'))?.toString()).toBe('y')
    expect(store.get('context', Buffer.from('a1'))).toBeUndefined()
    expect(store.getMany('groupOps', [Buffer.from('a1'), Buffer.from('zz')]).map((v) => v?.toString())).toEqual(['x', undefined])
  })

  it('scans by prefix in key order and deletes a prefix', () => {
    const b = store.batch()
    for (const k of ['b2', 'a2', 'a1', 'c1', 'a\xff']) b.put('state', Buffer.from(k, 'latin1'), Buffer.from(k, 'latin1'))
    b.write()
    expect(store.scanPrefix('state', Buffer.from('a')).map(([k]) => k.toString('latin1'))).toEqual(['a1', 'a2', 'a\xff'])
    expect(store.scan('state', { gte: Buffer.from('b'), limit: 1 }).map(([k]) => k.toString())).toEqual(['b2'])
    expect(store.deletePrefix('state', Buffer.from('a'))).toBe(3)
    expect(store.scan('state').length).toBe(2)
  })

  it('survives a reopen', async () => {
    store.put('meta', Buffer.from('v'), Buffer.from('1'))
    await store.close()
    store = await Store.open(join(dir, 'data'))
    expect(store.get('meta', Buffer.from('v'))?.toString()).toBe('1')
  })

  it('refuses a second open of the same database', async () => {
    await expect(Store.open(join(dir, 'data'))).rejects.toThrow(/locked/)
  })
})
