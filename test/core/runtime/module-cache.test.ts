import { describe, expect, it } from 'vitest'
import { ModuleCache } from '../../../src/core/runtime/module-cache.js'

describe('ModuleCache: compiled modules, bounded (issue 23, item 3)', () => {
  it('filled past its capacity, drops the least recently used, counts each drop, and never grows', () => {
    const cache = new ModuleCache<number>(4)
    for (let i = 0; i < 4; i++) cache.set(`m${i}`, i)
    expect(cache.get('m0')).toBe(0) // used: now the most recent
    for (let i = 4; i < 1000; i++) {
      cache.set(`m${i}`, i)
      expect(cache.size).toBeLessThanOrEqual(4)
    }
    expect(cache.size).toBe(4)
    expect(cache.evicted).toBe(996)
    expect(cache.get('m999')).toBe(999)
    expect(cache.get('m1')).toBeUndefined()
    // setting a key it holds replaces it: no drop
    cache.set('m999', -1)
    expect(cache.evicted).toBe(996)
    expect(cache.size).toBe(4)
  })

  it('keeps the recently used module when it must drop one', () => {
    const cache = new ModuleCache<number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.get('a')
    cache.set('c', 3)
    expect(cache.get('a')).toBe(1)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.evicted).toBe(1)
  })
})
