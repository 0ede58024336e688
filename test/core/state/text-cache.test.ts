import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/core/state/text.js'
import { TextCache } from '../../../src/core/state/text-cache.js'

const id = (i: number) => Buffer.from(`collection-${i}`)
const hash = (i: number) => Buffer.alloc(32, i)

describe('TextCache: materialised text documents of a context, bounded (issue 23, item 3)', () => {
  it('filled past its capacity, keeps the most recently used documents, counts what it dropped and never grows', () => {
    const cache = new TextCache(8)
    for (let i = 0; i < 100; i++) {
      cache.set(id(i), hash(i), TextDoc.EMPTY)
      if (i === 50) expect(cache.get(id(45), hash(45))).toBe(TextDoc.EMPTY) // used: kept longer
      expect(cache.size).toBeLessThanOrEqual(8)
    }
    expect(cache.size).toBe(8)
    // counted: 100 documents set, 8 held
    expect(cache.dropped).toBe(92)
    expect(cache.get(id(99), hash(99))).toBe(TextDoc.EMPTY)
    expect(cache.get(id(91), hash(91))).toBeUndefined()
    expect(cache.get(id(45), hash(45))).toBeUndefined() // used once, long ago: dropped since
    // a document is only served for the hash it was built for
    expect(cache.get(id(99), hash(1))).toBeUndefined()
  })
})
