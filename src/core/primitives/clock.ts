/**
 * Wall-clock milliseconds with microsecond resolution that agree between processes on one
 * machine (event timestamps and op apply times are compared across daemons by the benchmarks
 * and by people reading two nodes' event streams side by side).
 *
 * `performance.timeOrigin` is fixed per process at start-up and differs between processes by
 * up to milliseconds. Instead, anchor once: wait for Date.now() to tick over (its millisecond
 * edge), read the monotonic clock (shared by all processes), and count from there.
 */
const anchor = (() => {
  const start = Date.now()
  let wall = start
  let hr = process.hrtime.bigint()
  // at most ~2 ms, once per process
  for (let i = 0; i < 1_000_000 && wall === start; i++) {
    hr = process.hrtime.bigint()
    wall = Date.now()
  }
  return { wall, hr }
})()

export function preciseNowMs(): number {
  return Math.round((anchor.wall + Number(process.hrtime.bigint() - anchor.hr) / 1e6) * 1000) / 1000
}
