import { describe, expect, it } from 'vitest'
import { PendingQueue } from '../../../src/core/dag/pending-queue.js'

describe('PendingQueue', () => {
  it('releases an item once every parent it missed has arrived, and a chain cascades', () => {
    const q = new PendingQueue<string>(10)
    q.park('c', 'C', ['b'])
    q.park('b', 'B', ['a1', 'a2'])
    expect(q.size).toBe(2)
    expect([...q.waitedFor()].sort()).toEqual(['a1', 'a2', 'b'])
    expect(q.arrived('a1')).toEqual([])
    const applied: string[] = []
    const arrivals = ['a2']
    while (arrivals.length) {
      for (const p of q.arrived(arrivals.shift()!)) {
        applied.push(p.item)
        arrivals.push(p.id)
      }
    }
    expect(applied).toEqual(['B', 'C'])
    expect(q.size).toBe(0)
    expect([...q.waitedFor()]).toEqual([])
  })

  it('evicts the oldest item when full, and forgets what only it waited for', () => {
    const q = new PendingQueue<number>(2)
    expect(q.park('x', 1, ['p'])).toBe(0)
    expect(q.park('y', 2, ['q'])).toBe(0)
    expect(q.park('z', 3, ['r'])).toBe(1)
    expect(q.has('x')).toBe(false)
    expect([...q.waitedFor()].sort()).toEqual(['q', 'r'])
    expect(q.arrived('p')).toEqual([])
  })

  it('parking an id again replaces it; expire drops what waited longer than the bound', () => {
    const q = new PendingQueue<string>(10)
    q.park('x', 'old', ['p'], 1_000)
    q.park('x', 'new', [], 1_000)
    expect(q.size).toBe(1)
    expect([...q.waitedFor()]).toEqual([])
    q.park('y', 'young', ['p'], 5_000)
    expect(q.expire(2_000)).toBe(1)
    expect([...q.values()].map((p) => p.item)).toEqual(['young'])
    expect(q.remove('y')?.item).toBe('young')
    expect([...q.waitedFor()]).toEqual([])
  })
})
