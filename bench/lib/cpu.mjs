import { readFileSync } from 'node:fs'

/** User + system CPU time of a process (all threads) in ms, from /proc (Linux); undefined elsewhere. */
export function processCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // clock ticks at USER_HZ = 100
  } catch {
    return undefined
  }
}

/**
 * One round of `total` calls, `inFlight` at a time (`call(i)` makes call i): the rate in calls/s
 * and the daemon's CPU time per call in µs (undefined where /proc is not there).
 */
export async function callRound(pid, call, total, inFlight = 16) {
  let next = 0
  const cpu0 = processCpuMs(pid)
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await call(next++)
    }),
  )
  const rate = total / ((performance.now() - t0) / 1000)
  const cpu1 = processCpuMs(pid)
  return { rate, cpuUs: cpu0 === undefined || cpu1 === undefined ? undefined : ((cpu1 - cpu0) * 1000) / total }
}
