import { describe, expect, it } from 'vitest'
import { compareHlc, decodeHlc, encodeHlc, Hlc, hlcCounter, hlcPhysicalMs, hlcTime } from '../../../src/core/primitives/hlc.js'

const A = Buffer.alloc(32, 1)
const B = Buffer.alloc(32, 2)

describe('Hlc', () => {
  it('is strictly monotonic when the wall clock stands still or goes back', () => {
    let wall = 1_000_000
    const c = new Hlc(A, { now: () => wall })
    const t1 = c.now()
    const t2 = c.now()
    wall -= 500
    const t3 = c.now()
    expect(t2.time).toBe(t1.time + 1n)
    expect(t3.time).toBe(t2.time + 1n)
    expect(hlcPhysicalMs(t3.time)).toBe(1_000_000)
    expect(hlcCounter(t3.time)).toBe(2)
    wall += 1000
    const t4 = c.now()
    expect(t4.time).toBe(hlcTime(1_000_500))
  })

  it('spills a full logical counter into the millisecond part', () => {
    const c = new Hlc(A, { now: () => 5 })
    let last = c.now().time
    let monotonic = true
    for (let i = 0; i < 70_000; i++) {
      const t = c.now().time
      if (t <= last) monotonic = false
      last = t
    }
    expect(monotonic).toBe(true)
    expect(hlcPhysicalMs(last)).toBe(6)
  })

  it('follows a received timestamp, and refuses one too far ahead', () => {
    const c = new Hlc(A, { now: () => 1000, maxDriftMs: 100 })
    c.receive({ time: hlcTime(1050, 7), node: B })
    expect(c.now().time).toBe(hlcTime(1050, 8))
    expect(() => c.receive({ time: hlcTime(1101), node: B })).toThrow(/ahead of this node's clock/)
    c.receive({ time: hlcTime(10), node: B }) // the past is fine and changes nothing
    expect(c.now().time).toBe(hlcTime(1050, 9))
  })

  it('orders by time, then node id; encodes canonically in 40 bytes', () => {
    const x = { time: hlcTime(10, 1), node: A }
    const y = { time: hlcTime(10, 1), node: B }
    expect(compareHlc(x, y)).toBe(-1)
    expect(compareHlc(y, x)).toBe(1)
    expect(compareHlc(x, { time: hlcTime(10, 2), node: A })).toBe(-1)
    expect(compareHlc(x, { ...x })).toBe(0)
    const enc = encodeHlc(y)
    expect(enc.length).toBe(40)
    expect(decodeHlc(enc)).toEqual({ time: y.time, node: Buffer.from(B) })
    expect(() => decodeHlc(enc.subarray(1))).toThrow(/40 bytes/)
    expect(() => new Hlc(Buffer.alloc(31))).toThrow(/32 bytes/)
    expect(() => new Hlc(A, { maxDriftMs: -1 })).toThrow(/maxDriftMs/)
  })
})
