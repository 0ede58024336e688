import { describe, expect, it } from 'vitest'
import { HeldDeltas, MAX_HELD_DELTAS } from '../../../src/core/sync/held-deltas.js'

const deltas = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)

describe('HeldDeltas: deltas held while a snapshot is installed, bounded (issue 23, item 3)', () => {
  it(`filled past its limit (${MAX_HELD_DELTAS} per context by default), keeps the first that fit, drops and counts the rest, and never grows`, () => {
    const held = new HeldDeltas<number>()
    held.hold('c')
    let dropped = 0
    for (let i = 0; i < 30; i++) {
      dropped += held.add('c', deltas(i * 1000, 1000), `peer${i}`)!
      expect(held.size).toBeLessThanOrEqual(MAX_HELD_DELTAS)
    }
    expect(held.size).toBe(MAX_HELD_DELTAS)
    expect(dropped).toBe(30_000 - MAX_HELD_DELTAS)
    // a batch that only partly fits keeps its first deltas
    const small = new HeldDeltas<number>(5)
    small.hold('c')
    expect(small.add('c', deltas(0, 3), 'a')).toBe(0)
    expect(small.add('c', deltas(3, 4), 'b')).toBe(2)
    expect(small.release('c')).toEqual([
      { deltas: [0, 1, 2], from: 'a' },
      { deltas: [3, 4], from: 'b' },
    ])
    // released: nothing held, and the context is no longer held
    expect(small.size).toBe(0)
    expect(small.add('c', [9], 'a')).toBeUndefined()
  })

  it('holds only the contexts being installed, each within its own bound', () => {
    const held = new HeldDeltas<number>(4)
    expect(held.add('x', [1], 'p')).toBeUndefined()
    held.hold('x')
    held.hold('y')
    expect(held.add('x', deltas(0, 6), 'p')).toBe(2)
    expect(held.add('y', deltas(0, 3), 'p')).toBe(0)
    expect(held.size).toBe(7)
    expect(held.release('x').flatMap((b) => b.deltas)).toEqual([0, 1, 2, 3])
    expect(held.size).toBe(3)
  })
})
