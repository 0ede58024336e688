import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import type { NodeEvent, NodeEventPayload } from '../../../src/core/node/events.js'
import {
  emptyGroup,
  initialState,
  logCursorIndex,
  reduce,
  refreshNeeds,
  selectedGroup,
  syncSummary,
  visibleLog,
  type Action,
  type KeyInput,
  type WatchState,
} from '../../../src/client/tui/model.js'

const G1 = 'a1'.repeat(32)
const G2 = 'b2'.repeat(32)
const OWNER = '5HdOwner1111111111111111111111111111111111111'
const ALICE = '7AliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const BOB = '9BobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const CTX = 'CtxCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'

let seq = 0
function ev(payload: NodeEventPayload, ts = 1_700_000_000_000 + seq): NodeEvent {
  const base = { seq: ++seq, ts }
  const ids: { groupId?: string; contextId?: string } = {}
  if ('groupId' in payload && payload.groupId) ids.groupId = payload.groupId
  if ('contextId' in payload && payload.contextId) ids.contextId = payload.contextId
  return { ...base, ...ids, ...payload } as NodeEvent
}

const apply = (s: WatchState, ...actions: Action[]) => actions.reduce(reduce, s)
const events = (...list: NodeEvent[]): Action => ({ type: 'events', events: list })
const key = (input: string, k: KeyInput = {}): Action => ({ type: 'key', input, key: k })

function withGroups(): WatchState {
  return apply(initialState({ now: 0 }), {
    type: 'snapshot',
    snapshot: {
      node: { name: 'default', identity: OWNER, peerId: '12D3KooW', peers: 0, uptimeMs: 1000, uptimeAt: 0 },
      groups: [
        { ...emptyGroup(G1), alias: 'team', owner: OWNER, myRole: 'admin', members: [{ identity: OWNER, role: 'admin' }], memberCount: 1 },
        { ...emptyGroup(G2), owner: OWNER, memberCount: 3 },
      ],
      contexts: [],
      unavailable: [],
    },
  })
}

describe('snapshot', () => {
  test('fills the header and the panes; groups are sorted by alias then id', () => {
    const s = withGroups()
    expect(s.node).toMatchObject({ name: 'default', identity: OWNER, peerId: '12D3KooW' })
    expect(s.groups.map((g) => g.groupId)).toEqual([G2, G1]) // no alias sorts before "team"
    expect(s.unavailable).toEqual([])
  })

  test('a later snapshot keeps the counters only events know', () => {
    let s = withGroups()
    s = apply(s, events(ev({ type: 'group.op.rejected', groupId: G1, opId: 'ff'.repeat(32), kind: 'MemberAdded', signer: BOB, reason: 'signer is not an admin' })))
    s = apply(s, { type: 'group.loaded', group: { ...emptyGroup(G1), alias: 'team', owner: OWNER, memberCount: 1, members: [{ identity: OWNER, role: 'admin' }] } })
    const g = s.groups.find((x) => x.groupId === G1)!
    expect(g.opsRejected).toBe(1)
    expect(g.lastRejection).toBe('MemberAdded: signer is not an admin')
  })

  test('methods the daemon lacks are remembered', () => {
    const s = apply(initialState(), { type: 'snapshot', snapshot: { unavailable: ['context.list'] } })
    expect(s.unavailable).toEqual(['context.list'])
  })
})

describe('events', () => {
  test('members added, updated and removed change the group pane and are logged', () => {
    let s = withGroups()
    s = apply(s, events(ev({ type: 'group.member.added', groupId: G1, identity: ALICE, role: 'member' }), ev({ type: 'group.member.added', groupId: G1, identity: BOB, role: 'read-only' })))
    let g = s.groups.find((x) => x.groupId === G1)!
    expect(g.members!.map((m) => [m.identity, m.role])).toEqual([
      [OWNER, 'admin'],
      [ALICE, 'member'],
      [BOB, 'read-only'],
    ])
    expect(g.memberCount).toBe(3)
    s = apply(s, events(ev({ type: 'group.member.updated', groupId: G1, identity: BOB, role: 'admin', capabilities: 31 }), ev({ type: 'group.member.removed', groupId: G1, identity: ALICE, reason: 'removed' })))
    g = s.groups.find((x) => x.groupId === G1)!
    expect(g.members!.map((m) => [m.identity, m.role])).toEqual([
      [OWNER, 'admin'],
      [BOB, 'admin'],
    ])
    expect(g.memberCount).toBe(2)
    expect(s.log.map((e) => e.type)).toEqual(['group.member.added', 'group.member.added', 'group.member.updated', 'group.member.removed'])
    expect(s.log[0]!.text).toContain('joined group')
    expect(s.log[3]!.level).toBe('warn')
  })

  test('a rejected op is logged as an error with its reason', () => {
    const s = apply(withGroups(), events(ev({ type: 'group.op.rejected', groupId: G1, opId: 'cd'.repeat(32), kind: 'MemberRemoved', signer: BOB, reason: 'the owner cannot be removed' })))
    expect(s.log).toHaveLength(1)
    expect(s.log[0]).toMatchObject({ level: 'error', type: 'group.op.rejected' })
    expect(s.log[0]!.text).toContain('REJECTED')
    expect(s.log[0]!.text).toContain('the owner cannot be removed')
  })

  test('contexts: created in a group, mutated (root hash, head), delta applied, deleted', () => {
    let s = withGroups()
    s = apply(s, events(ev({ type: 'context.created', contextId: CTX, groupId: G1, applicationId: 'App1' })))
    expect(s.contexts).toHaveLength(1)
    expect(s.groups.find((g) => g.groupId === G1)!.contexts).toEqual([CTX])
    s = apply(s, events(ev({ type: 'context.state.mutated', contextId: CTX, rootHash: 'Root1', deltaId: 'Delta1', events: [{ kind: 'Inserted', data: {} }] })))
    expect(s.contexts[0]).toMatchObject({ rootHash: 'Root1', heads: ['Delta1'], deltas: 1 })
    s = apply(s, events(ev({ type: 'context.delta.applied', contextId: CTX, deltaId: 'Delta2', rootHash: 'Root2' })))
    expect(s.contexts[0]).toMatchObject({ rootHash: 'Root2', deltas: 2 })
    s = apply(s, events(ev({ type: 'context.deleted', contextId: CTX, groupId: G1 })))
    expect(s.contexts).toEqual([])
    expect(s.groups.find((g) => g.groupId === G1)!.contexts).toEqual([])
  })

  test('heartbeats update the header without filling the log; peers count', () => {
    let s = apply(withGroups(), events(ev({ type: 'heartbeat', uptimeMs: 60_000, peers: 2 })))
    expect(s.node).toMatchObject({ peers: 2, uptimeMs: 60_000 })
    expect(s.log).toEqual([])
    expect(s.totalEvents).toBe(1)
    s = apply(s, events(ev({ type: 'peer.connected', peerId: 'P1' }), ev({ type: 'peer.disconnected', peerId: 'P2' }), ev({ type: 'peer.disconnected', peerId: 'P3' }), ev({ type: 'peer.disconnected', peerId: 'P4' })))
    expect(s.node.peers).toBe(0)
  })

  test('sync sessions drive the overall sync state and the item status', () => {
    let s = apply(withGroups(), events(ev({ type: 'context.created', contextId: CTX, groupId: G1, applicationId: 'App1' })))
    expect(syncSummary(s)).toBe('idle')
    s = apply(s, events(ev({ type: 'sync.started', contextId: CTX, peerId: 'P1', reason: 'heads differ' })))
    expect(syncSummary(s)).toBe('syncing (1 session)')
    expect(s.contexts[0]!.sync).toBe('syncing')
    s = apply(s, events(ev({ type: 'sync.finished', contextId: CTX, peerId: 'P1', ok: false, fetched: 0, durationMs: 5, error: 'peer went away' })))
    expect(syncSummary(s)).toBe('last sync failed: peer went away')
    expect(s.contexts[0]!.sync).toBe('failed: peer went away')
    s = apply(s, events(ev({ type: 'sync.started', groupId: G1, peerId: 'P1', reason: 'joined' }), ev({ type: 'sync.finished', groupId: G1, peerId: 'P1', ok: true, fetched: 3, durationMs: 9 })))
    expect(syncSummary(s)).toBe('in sync')
    expect(s.groups.find((g) => g.groupId === G1)!.sync).toBe('in sync')
  })

  test('a session with a peer that holds nothing (skipped) leaves the status and the last outcome as they were', () => {
    let s = apply(withGroups(), events(ev({ type: 'context.created', contextId: CTX, groupId: G1, applicationId: 'App1' })))
    s = apply(s, events(ev({ type: 'sync.started', contextId: CTX, peerId: 'P1', reason: 'joined' }), ev({ type: 'sync.finished', contextId: CTX, peerId: 'P1', ok: true, fetched: 2, durationMs: 9 })))
    s = apply(s, events(ev({ type: 'sync.started', contextId: CTX, peerId: 'P2', reason: 'peer connected' })))
    expect(s.contexts[0]!.sync).toBe('syncing')
    const lastSync = s.lastSync
    s = apply(s, events(ev({ type: 'sync.finished', contextId: CTX, peerId: 'P2', ok: true, fetched: 0, durationMs: 3, method: 'none', skipped: 'the peer does not hold the context' })))
    expect(s.contexts[0]!.sync).toBe('in sync')
    expect(s.lastSync).toBe(lastSync)
    expect(syncSummary(s)).toBe('in sync')
    // the first session of a group, skipped: back to no status at all
    s = apply(s, events(ev({ type: 'sync.started', groupId: G2, peerId: 'P2', reason: 'peer connected' }), ev({ type: 'sync.finished', groupId: G2, peerId: 'P2', ok: true, fetched: 0, durationMs: 1, skipped: 'the peer does not hold the group' })))
    expect(s.groups.find((g) => g.groupId === G2)!.sync).toBeUndefined()
  })

  test('log entries are keyed by arrival, not by the event seq (a payload field may shadow it)', () => {
    const clash = [1, 1, 1].map((n) => ({ seq: n, ts: n, type: 'peer.connected', peerId: 'P' }) as NodeEvent)
    let s = apply(initialState(), events(...clash), key('', { tab: true, shift: true }), key('', { upArrow: true }))
    expect(s.log.map((e) => e.id)).toEqual([1, 2, 3])
    expect(logCursorIndex(s)).toBe(1)
    s = apply(s, key('', { upArrow: true }))
    expect(logCursorIndex(s)).toBe(0)
  })

  test('an event type newer than the CLI is logged, not dropped', () => {
    const s = apply(initialState(), events({ seq: 1, ts: 1, type: 'something.new' } as unknown as NodeEvent))
    expect(s.log.map((e) => e.text)).toEqual(['something.new'])
  })
})

// ---------------------------------------------------------------- properties

const payloadArb: fc.Arbitrary<NodeEventPayload> = fc.oneof(
  fc.record({ type: fc.constant('heartbeat' as const), uptimeMs: fc.nat(), peers: fc.nat(10) }),
  fc.record({ type: fc.constant('group.member.added' as const), groupId: fc.constantFrom(G1, G2), identity: fc.constantFrom(OWNER, ALICE, BOB), role: fc.constantFrom('admin', 'member', 'read-only') }),
  fc.record({ type: fc.constant('group.member.removed' as const), groupId: fc.constantFrom(G1, G2), identity: fc.constantFrom(OWNER, ALICE, BOB), reason: fc.constantFrom('removed' as const, 'left' as const) }),
  fc.record({ type: fc.constant('group.op.applied' as const), groupId: fc.constantFrom(G1, G2), opId: fc.constant('00'), kind: fc.constant('MemberAdded'), signer: fc.constant(OWNER), opSeq: fc.nat() }),
  fc.record({ type: fc.constant('group.op.rejected' as const), groupId: fc.constantFrom(G1, G2), opId: fc.constant('00'), kind: fc.constant('MemberAdded'), signer: fc.constant(BOB), reason: fc.string() }),
  fc.record({ type: fc.constant('context.created' as const), contextId: fc.constantFrom('C1', 'C2'), groupId: fc.constantFrom(G1, G2), applicationId: fc.constant('A') }),
  fc.record({ type: fc.constant('context.state.mutated' as const), contextId: fc.constantFrom('C1', 'C2'), rootHash: fc.string(), deltaId: fc.string(), events: fc.constant([]) }),
  fc.record({ type: fc.constant('peer.connected' as const), peerId: fc.string() }),
  fc.record({ type: fc.constant('sync.started' as const), contextId: fc.constantFrom('C1', 'C2'), peerId: fc.constantFrom('P1', 'P2'), reason: fc.constant('x') }),
  fc.record({ type: fc.constant('sync.finished' as const), contextId: fc.constantFrom('C1', 'C2'), peerId: fc.constantFrom('P1', 'P2'), ok: fc.boolean(), fetched: fc.nat(), durationMs: fc.nat() }),
)

const toEvents = (payloads: NodeEventPayload[]): NodeEvent[] => payloads.map((p, i) => ({ seq: i + 1, ts: 1000 + i, ...('groupId' in p ? { groupId: p.groupId } : {}), ...('contextId' in p ? { contextId: p.contextId } : {}), ...p }) as NodeEvent)

/** Split points turn one list into consecutive batches. */
function batches<T>(list: T[], cuts: number[]): T[][] {
  const points = [...new Set(cuts.map((c) => c % (list.length + 1)))].sort((a, b) => a - b)
  const out: T[][] = []
  let from = 0
  for (const p of points) {
    out.push(list.slice(from, p))
    from = p
  }
  out.push(list.slice(from))
  return out
}

describe('properties', () => {
  test('throttling is invisible: any batching of the same events gives the same state', () => {
    fc.assert(
      fc.property(fc.array(payloadArb, { maxLength: 120 }), fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 1, max: 50 }), (payloads, cuts, cap) => {
        const list = toEvents(payloads)
        const start = initialState({ logCap: cap, now: 0 })
        const once = reduce(start, events(...list))
        const split = batches(list, cuts).reduce((s, b) => reduce(s, events(...b)), start)
        expect(split).toEqual(once)
      }),
      { numRuns: 200 },
    )
  })

  test('the log is a bounded ring: the newest min(cap, n) non-heartbeat events, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(payloadArb, { maxLength: 40 }), { maxLength: 8 }), fc.integer({ min: 1, max: 30 }), (chunks, cap) => {
        const all = toEvents(chunks.flat())
        let s = initialState({ logCap: cap })
        let i = 0
        for (const c of chunks) {
          s = reduce(s, events(...all.slice(i, i + c.length)))
          i += c.length
        }
        const expected = all.filter((e) => e.type !== 'heartbeat').slice(-cap).map((e) => e.seq)
        expect(s.log.map((e) => e.seq)).toEqual(expected)
        expect(s.log.length).toBeLessThanOrEqual(cap)
        expect(s.totalEvents).toBe(all.length)
      }),
      { numRuns: 200 },
    )
  })
})

// ---------------------------------------------------------------- keys

describe('keys', () => {
  test('tab and arrows move the focus around the panes, shift-tab backwards', () => {
    let s = withGroups()
    expect(s.focus).toBe('groups')
    s = apply(s, key('', { tab: true }))
    expect(s.focus).toBe('contexts')
    s = apply(s, key('', { rightArrow: true }))
    expect(s.focus).toBe('log')
    s = apply(s, key('', { tab: true }))
    expect(s.focus).toBe('groups')
    s = apply(s, key('', { tab: true, shift: true }))
    expect(s.focus).toBe('log')
    s = apply(s, key('', { leftArrow: true }))
    expect(s.focus).toBe('contexts')
  })

  test('up and down move the cursor inside the focused pane, clamped', () => {
    let s = withGroups()
    expect(selectedGroup(s)!.groupId).toBe(G2)
    s = apply(s, key('', { downArrow: true }), key('', { downArrow: true }), key('', { downArrow: true }))
    expect(selectedGroup(s)!.groupId).toBe(G1)
    s = apply(s, key('', { upArrow: true }))
    expect(selectedGroup(s)!.groupId).toBe(G2)
    s = apply(s, key('', { upArrow: true }))
    expect(selectedGroup(s)!.groupId).toBe(G2)
  })

  test('enter opens the details of the item under the cursor; esc goes back', () => {
    let s = apply(withGroups(), key('', { downArrow: true }), key('', { return: true }))
    expect(s.details).toEqual({ pane: 'groups', key: G1 })
    s = apply(s, key('', { tab: true })) // ignored while details are open
    expect(s.focus).toBe('groups')
    s = apply(s, key('', { escape: true }))
    expect(s.details).toBeNull()
  })

  test('enter on an empty pane does nothing', () => {
    const s = apply(initialState(), key('', { tab: true }), key('', { return: true }))
    expect(s.details).toBeNull()
  })

  test('/ edits the log filter: typing, backspace, enter keeps it, esc clears it', () => {
    let s = apply(withGroups(), events(ev({ type: 'group.member.added', groupId: G1, identity: ALICE, role: 'member' }), ev({ type: 'peer.connected', peerId: 'PeerX' })))
    s = apply(s, key('/'))
    expect(s).toMatchObject({ filterEditing: true, focus: 'log' })
    s = apply(s, key('p'), key('e'), key('e'), key('x'), key('', { backspace: true }), key('r'))
    expect(s.filter).toBe('peer')
    expect(visibleLog(s).map((e) => e.type)).toEqual(['peer.connected'])
    s = apply(s, key('q')) // typed into the filter, not a quit
    expect(s.quit).toBe(false)
    expect(s.filter).toBe('peerq')
    s = apply(s, key('', { backspace: true }), key('', { return: true }))
    expect(s).toMatchObject({ filterEditing: false, filter: 'peer' })
    s = apply(s, key('/'), key('', { escape: true }))
    expect(s).toMatchObject({ filterEditing: false, filter: '' })
    expect(visibleLog(s)).toHaveLength(2)
  })

  test('the log follows the newest event until the cursor moves up; end resumes', () => {
    let s = apply(withGroups(), events(...[1, 2, 3, 4].map((i) => ev({ type: 'peer.connected', peerId: `P${i}` }))))
    s = apply(s, key('', { tab: true, shift: true }))
    expect(s.focus).toBe('log')
    expect(logCursorIndex(s)).toBe(3)
    s = apply(s, key('', { upArrow: true }), key('', { upArrow: true }))
    expect(logCursorIndex(s)).toBe(1)
    const pinned = s.cursor.log
    s = apply(s, events(ev({ type: 'peer.connected', peerId: 'P5' })))
    expect(s.cursor.log).toBe(pinned) // new events do not move a paused cursor
    s = apply(s, key('', { return: true }))
    expect(s.details).toEqual({ pane: 'log', key: String(pinned) })
    s = apply(s, key('', { escape: true }), key('', { end: true }))
    expect(s.cursor.log).toBeUndefined()
    expect(logCursorIndex(s)).toBe(4)
  })

  test('several keys read in one chunk are applied one by one', () => {
    let s = apply(withGroups(), key('\t\t'))
    expect(s.focus).toBe('log')
    s = apply(s, key('/pe\r'))
    expect(s).toMatchObject({ filter: 'pe', filterEditing: false })
    s = apply(s, key('jq'))
    expect(s.quit).toBe(true)
  })

  test('q quits, also from the details view', () => {
    expect(apply(withGroups(), key('q')).quit).toBe(true)
    expect(apply(withGroups(), key('', { return: true }), key('q')).quit).toBe(true)
  })
})

describe('connection', () => {
  test('connected, lost, reconnecting (attempts counted), connected again', () => {
    let s = initialState({ now: 0 })
    expect(s.connection.state).toBe('connecting')
    s = apply(s, { type: 'connection', state: 'connected', at: 10 })
    s = apply(s, events(ev({ type: 'sync.started', peerId: 'P', reason: 'x' })))
    s = apply(s, { type: 'connection', state: 'disconnected', error: 'ECONNREFUSED', retryInMs: 250, at: 20 })
    expect(s.connection).toMatchObject({ state: 'disconnected', since: 20, error: 'ECONNREFUSED', retryInMs: 250 })
    expect(s.syncSessions).toEqual({})
    s = apply(s, { type: 'connection', state: 'reconnecting', at: 30 }, { type: 'connection', state: 'disconnected', at: 31 }, { type: 'connection', state: 'reconnecting', at: 40 })
    expect(s.connection).toMatchObject({ state: 'reconnecting', attempt: 2 })
    s = apply(s, { type: 'connection', state: 'connected', at: 50 })
    expect(s.connection).toMatchObject({ state: 'connected', attempt: 0, since: 50 })
  })
})

describe('refreshNeeds', () => {
  test('names what each kind of event makes stale', () => {
    const n = refreshNeeds([
      ev({ type: 'group.member.added', groupId: G1, identity: ALICE, role: 'member' }),
      ev({ type: 'context.state.mutated', contextId: CTX, rootHash: 'r', deltaId: 'd', events: [] }),
      ev({ type: 'heartbeat', uptimeMs: 1, peers: 0 }),
    ])
    expect(n).toEqual({ status: false, groupList: false, contextList: false, groups: new Set([G1]), contexts: new Set([CTX]) })
    expect(refreshNeeds([ev({ type: 'group.created', groupId: G2, owner: OWNER })]).groupList).toBe(true)
    expect(refreshNeeds([ev({ type: 'context.created', contextId: CTX, groupId: G1, applicationId: 'A' })])).toMatchObject({ contextList: true, groups: new Set([G1]) })
    expect(refreshNeeds([ev({ type: 'peer.connected', peerId: 'P' })]).status).toBe(true)
  })
})
