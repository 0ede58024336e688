import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toBase58 } from '../../src/core/primitives/encoding.js'
import { signalIfSame } from '../../src/home/pid-file.js'
import { Cluster } from '../helpers/cluster.js'
import { TestHome, waitFor } from '../helpers/harness.js'

/**
 * Issue 17, item 8: merod killed with SIGKILL while context writes and governance ops are in
 * flight, then restarted, several rounds: every write and op that was acknowledged before the
 * kill is there after the restart (the store's write-ahead log check does not stop it either).
 */
const ROUNDS = 3
const IN_FLIGHT = 8
const KILL_AFTER = 120 // acknowledgements per round before the kill

describe('kill -9 under load, then restart', () => {
  const t = new TestHome()
  const c = new Cluster(t)

  beforeAll(async () => {
    await c.start('a')
    await c.share('a', [])
  }, 60_000)

  afterAll(async () => {
    c.close()
    await t.cleanup()
  })

  /** Runs `IN_FLIGHT` writers until `KILL_AFTER` acknowledgements, kills merod, returns what was acknowledged. */
  async function loadThenKill(write: (i: number) => Promise<string>): Promise<string[]> {
    const acked: string[] = []
    let next = 0
    let killed = false
    const writer = async () => {
      while (!killed) {
        const i = next++
        try {
          acked.push(await write(i))
        } catch {
          if (!killed) throw new Error(`write ${i} failed before the kill`)
        }
        if (acked.length >= KILL_AFTER && !killed) {
          killed = true
          const holder = t.holder('a')!
          expect(signalIfSame(holder, 'SIGKILL')).toBe(true)
        }
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, writer))
    await waitFor(() => !t.holder('a'), 5_000)
    c.rpc.a!.close()
    return acked
  }

  async function restart(): Promise<void> {
    await c.start('a') // the pid file and socket of the killed daemon are stale: start cleans them
  }

  it('no acknowledged context write is lost', async () => {
    const all: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await loadThenKill(async (i) => {
        const key = `r${round}-${i}`
        await c.call('a', 'set', { key, value: key })
        return key
      })
      all.push(...acked)
      await restart()
      const entries = (await c.call<Record<string, string>>('a', 'entries')).result
      const lost = all.filter((k) => entries[k] !== k)
      expect(lost, `round ${round}: ${lost.length} of ${all.length} acknowledged writes lost`).toEqual([])
    }
    expect(all.length).toBeGreaterThanOrEqual(ROUNDS * KILL_AFTER)
  })

  it('no acknowledged governance op is lost', async () => {
    const all: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await loadThenKill(async () => {
        const identity = toBase58(randomBytes(32))
        await c.rpc.a!.call('group.addMembers', { group: c.groupId, identities: [identity] })
        return identity
      })
      all.push(...acked)
      await restart()
      const members = new Set((await c.rpc.a!.call<{ members: { identity: string }[] }>('group.get', { group: c.groupId })).members.map((m) => m.identity))
      const lost = all.filter((m) => !members.has(m))
      expect(lost, `round ${round}: ${lost.length} of ${all.length} acknowledged members lost`).toEqual([])
    }
    expect(all.length).toBeGreaterThanOrEqual(ROUNDS * KILL_AFTER)
  })
})
