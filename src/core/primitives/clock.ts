/**
 * Wall-clock milliseconds with microsecond resolution that agree between processes on one
 * machine (event timestamps and op apply times are compared across daemons by the benchmarks
 * and by people reading two nodes' event streams side by side).
 *
 * `performance.timeOrigin` is fixed per process at start-up and differs between processes by
 * up to milliseconds. Instead, anchor once: wait for Date.now() to tick over (its millisecond
 * edge) and note where the monotonic clock (shared by all processes) stood, bracketed by a read
 * before and after each Date.now(). A process preempted inside that bracket (daemons start on a
 * busy machine) would be anchored late by the whole preemption, so the edge is caught again
 * until a bracket is tight, keeping the tightest.
 */
const TIGHT_NS = 20_000n
const anchor = (() => {
  let best = { wall: Date.now(), hr: process.hrtime.bigint(), window: 1n << 62n }
  // each attempt waits for one millisecond edge: a few ms once per process, at most
  for (let attempt = 0; attempt < 8 && best.window > TIGHT_NS; attempt++) {
    const start = Date.now()
    let lastBefore = process.hrtime.bigint() // brackets the previous Date.now()
    for (let i = 0; i < 1_000_000; i++) {
      const before = process.hrtime.bigint()
      const wall = Date.now()
      const after = process.hrtime.bigint()
      if (wall !== start) {
        // the edge fell between the previous Date.now() and this one
        const window = after - lastBefore
        if (window < best.window) best = { wall, hr: before, window }
        break
      }
      lastBefore = before
    }
  }
  return best
})()

export function preciseNowMs(): number {
  return Math.round((anchor.wall + Number(process.hrtime.bigint() - anchor.hr) / 1e6) * 1000) / 1000
}
