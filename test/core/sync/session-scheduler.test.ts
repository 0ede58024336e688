import { afterEach, describe, expect, it } from 'vitest'
import { SessionScheduler } from '../../../src/core/sync/session-scheduler.js'

/** The scheduler of sync sessions on its own: which session runs, when, and with which peer. */
const schedulers: SessionScheduler<{ fetched: number }>[] = []
afterEach(() => {
  for (const s of schedulers.splice(0)) s.stop()
})

function recording() {
  const runs: { key: string; peerId: string; at: number }[] = []
  const s = new SessionScheduler<{ fetched: number }>({
    scope: 'group',
    maxConcurrent: 8,
    run: async (key, peerId) => {
      runs.push({ key, peerId, at: Date.now() })
      return { fetched: 0 }
    },
  })
  schedulers.push(s)
  return { s, runs }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('SessionScheduler.schedule', () => {
  it('a sooner request does not wait behind a later one: it runs at its own time, with the peer that asked', async () => {
    const { s, runs } = recording()
    const key = 'aa'.repeat(32)
    // a retry backing off (a failed session with P1, due in 10 s)
    s.schedule(key, 'P1', 'retry 5', 10_000)
    const asked = Date.now()
    s.schedule(key, 'P2', 'announced', 0)
    await wait(200)
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({ key, peerId: 'P2' })
    expect(runs[0]!.at - asked).toBeLessThan(200)
  })

  it('requests for the same key within the delay are one session, with the first peer', async () => {
    const { s, runs } = recording()
    const key = 'bb'.repeat(32)
    s.schedule(key, 'P1', 'heartbeat', 50)
    s.schedule(key, 'P2', 'heartbeat', 50)
    s.schedule(key, 'P3', 'heartbeat', 80)
    await wait(250)
    expect(runs.map((r) => r.peerId)).toEqual(['P1'])
  })

  it('a pending session whose conditions no longer hold does not run, even when moved sooner', async () => {
    const { s, runs } = recording()
    const key = 'cc'.repeat(32)
    s.schedule(key, 'P1', 'missing parents', 5_000, () => false)
    s.schedule(key, 'P2', 'missing parents', 0, () => false)
    await wait(150)
    expect(runs).toEqual([])
  })
})
