import { afterEach, describe, expect, test } from 'vitest'
import { RpcError } from '../../../src/client/rpc-client.js'
import { loadSnapshot, type Call } from '../../../src/client/tui/snapshot.js'
import { WatchStore } from '../../../src/client/tui/store.js'
import type { NodeEvent } from '../../../src/core/node/events.js'

const G1 = 'a1'.repeat(32)
const OWNER = '5HdOwner1111111111111111111111111111111111111'

/** A daemon's answers as plain data: the loader only sees a call function. */
function daemon(answers: Record<string, unknown | ((p: Record<string, unknown>) => unknown)>): Call {
  return async (method, params = {}) => {
    if (!(method in answers)) throw new RpcError(-32601, `method not found: ${method}`, 'MethodNotFound')
    const a = answers[method]
    return typeof a === 'function' ? (a as (p: Record<string, unknown>) => unknown)(params) : a
  }
}

describe('loadSnapshot', () => {
  test('node.status, group.list with group.get per group, context.list', async () => {
    const snap = await loadSnapshot(
      daemon({
        'node.status': { identity: OWNER, peerId: '12D3KooWx', nodeName: 'alice', version: '0.1.0', uptimeMs: 5000 },
        'group.list': { groups: [{ groupId: G1, alias: null, owner: OWNER, myRole: 'admin', members: 2, contexts: 0, stateHash: 'h' }] },
        'group.get': (p: Record<string, unknown>) => ({
          groupId: p.group,
          owner: OWNER,
          alias: null,
          localAlias: 'team',
          stateHash: 'h2',
          heads: ['o1'],
          members: [
            { identity: OWNER, role: 'admin', capabilities: 31 },
            { identity: 'Bob', role: 'member', capabilities: 4 },
          ],
          contexts: [{ contextId: 'Ctx1', applicationId: 'App' }],
          equivocations: [],
        }),
        'context.list': { contexts: [{ contextId: 'Ctx1', groupId: G1, applicationId: 'App', rootHash: 'R', heads: ['d1', 'd2'], sync: { state: 'in sync' } }] },
      }),
    )
    expect(snap.unavailable).toEqual([])
    expect(snap.node).toMatchObject({ name: 'alice', identity: OWNER, peerId: '12D3KooWx', uptimeMs: 5000 })
    expect(snap.groups).toHaveLength(1)
    expect(snap.groups![0]).toMatchObject({ groupId: G1, alias: 'team', myRole: 'admin', stateHash: 'h2', heads: ['o1'], memberCount: 2, contexts: ['Ctx1'] })
    expect(snap.groups![0]!.members!.map((m) => m.role)).toEqual(['admin', 'member'])
    expect(snap.contexts).toEqual([{ contextId: 'Ctx1', groupId: G1, applicationId: 'App', alias: null, rootHash: 'R', heads: ['d1', 'd2'], sync: 'in sync', deltas: 0 }])
  })

  test('methods the daemon does not serve (-32601) leave their pane unloaded and are named', async () => {
    const snap = await loadSnapshot(daemon({ 'node.status': { identity: OWNER, peerId: 'P' } }))
    expect(snap.groups).toBeUndefined()
    expect(snap.contexts).toBeUndefined()
    expect(snap.unavailable).toEqual(['context.list', 'group.list'])
  })

  test('malformed items are skipped, well-formed ones kept', async () => {
    const snap = await loadSnapshot(
      daemon({
        'node.status': { identity: OWNER, peerId: 'P' },
        'group.list': { groups: [{ nope: 1 }, { groupId: G1, members: 1 }, 'junk'] },
        'group.get': { unexpected: true },
        'context.list': { contexts: [{ contextId: 5 }, { contextId: 'C' }] },
      }),
    )
    expect(snap.groups!.map((g) => g.groupId)).toEqual([G1])
    expect(snap.groups![0]!.memberCount).toBe(1)
    expect(snap.contexts!.map((c) => c.contextId)).toEqual(['C'])
  })

  test('other RPC failures propagate', async () => {
    const call: Call = async (m) => {
      if (m === 'group.list') throw new RpcError(1000, 'boom', 'Internal')
      return { identity: OWNER, peerId: 'P', contexts: [] }
    }
    await expect(loadSnapshot(call)).rejects.toThrow('boom')
  })
})

describe('WatchStore', () => {
  let store: WatchStore | undefined
  afterEach(() => store?.close())

  const event = (seq: number): NodeEvent => ({ seq, ts: seq, type: 'peer.connected', peerId: `P${seq}` })

  test('a burst of events is applied in a few batches, none lost', async () => {
    const batches: number[] = []
    store = new WatchStore({ flushMs: 50, onFlush: (b) => batches.push(b.length) })
    let renders = 0
    store.subscribe(() => renders++)
    for (let i = 1; i <= 1000; i++) store.pushEvent(event(i))
    expect(store.getState().totalEvents).toBe(0) // nothing applied synchronously
    await new Promise((r) => setTimeout(r, 80))
    expect(store.getState().totalEvents).toBe(1000)
    expect(batches).toEqual([1000])
    expect(renders).toBe(1)
    expect(store.getState().log.at(-1)!.seq).toBe(1000)
  })

  test('flushes at most once per window while events keep coming', async () => {
    const times: number[] = []
    store = new WatchStore({ flushMs: 40, onFlush: () => times.push(Date.now()) })
    const started = Date.now()
    let seq = 0
    while (Date.now() - started < 300) {
      store.pushEvent(event(++seq))
      await new Promise((r) => setTimeout(r, 2))
    }
    store.flush()
    expect(store.getState().totalEvents).toBe(seq)
    // ~300 ms of events at 40 ms windows: about 8 flushes, far fewer than the events
    expect(times.length).toBeLessThanOrEqual(12)
    expect(seq).toBeGreaterThan(times.length * 3)
    for (let i = 2; i < times.length - 1; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(35)
  })

  test('keys apply at once, and an unchanged state does not notify', () => {
    store = new WatchStore()
    let renders = 0
    store.subscribe(() => renders++)
    store.dispatch({ type: 'key', input: '', key: { tab: true } })
    expect(store.getState().focus).toBe('contexts')
    expect(renders).toBe(1)
    store.dispatch({ type: 'key', input: 'x', key: {} })
    expect(renders).toBe(1)
  })
})
