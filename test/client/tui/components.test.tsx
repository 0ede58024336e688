import { render, type Instance } from 'ink-testing-library'
import { afterEach, describe, expect, test } from 'vitest'
import { App } from '../../../src/client/tui/components/App.js'
import { ContextsPane } from '../../../src/client/tui/components/ContextsPane.js'
import { DetailsView } from '../../../src/client/tui/components/DetailsView.js'
import { EventLog } from '../../../src/client/tui/components/EventLog.js'
import { Footer } from '../../../src/client/tui/components/Footer.js'
import { GroupsPane } from '../../../src/client/tui/components/GroupsPane.js'
import { Header } from '../../../src/client/tui/components/Header.js'
import { emptyGroup, initialState, reduce, type Action, type WatchState } from '../../../src/client/tui/model.js'
import { WatchStore } from '../../../src/client/tui/store.js'
import type { NodeEvent, NodeEventPayload } from '../../../src/core/node/events.js'

const G1 = 'a1'.repeat(32)
const G2 = 'b2'.repeat(32)
const OWNER = '5HdOwner1111111111111111111111111111111111111'
const ALICE = '7AliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const CTX = 'CtxCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'

const KEYS = { tab: '\t', shiftTab: '\u001B[Z', up: '\u001B[A', down: '\u001B[B', right: '\u001B[C', left: '\u001B[D', enter: '\r', esc: '\u001B', backspace: '\u007F' }

let seq = 0
const ev = (p: NodeEventPayload): NodeEvent => ({ seq: ++seq, ts: new Date(2025, 0, 1, 12, 0, 0).getTime() + seq, ...('groupId' in p ? { groupId: p.groupId } : {}), ...('contextId' in p ? { contextId: p.contextId } : {}), ...p }) as NodeEvent

function populated(): Action[] {
  return [
    { type: 'connection', state: 'connected', at: Date.now() },
    {
      type: 'snapshot',
      snapshot: {
        node: { name: 'alice', identity: OWNER, peerId: '12D3KooWPeer', peers: 1, uptimeMs: 65_000, uptimeAt: Date.now() },
        groups: [
          { ...emptyGroup(G1), alias: 'team', owner: OWNER, myRole: 'admin', memberCount: 1, members: [{ identity: OWNER, role: 'admin', capabilities: 31 }], contexts: [CTX] },
          { ...emptyGroup(G2), owner: ALICE, myRole: 'member', memberCount: 4 },
        ],
        contexts: [{ contextId: CTX, groupId: G1, applicationId: 'AppAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', rootHash: 'RootRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR', heads: ['h1', 'h2'], sync: 'in sync', deltas: 0 }],
        unavailable: [],
      },
    },
    { type: 'events', events: [ev({ type: 'group.member.added', groupId: G1, identity: ALICE, role: 'member' }), ev({ type: 'group.op.rejected', groupId: G1, opId: 'cd'.repeat(32), kind: 'MemberRemoved', signer: ALICE, reason: 'the owner cannot be removed' }), ev({ type: 'peer.connected', peerId: '12D3KooWOther' })] },
  ]
}

const state = (actions: Action[] = populated()): WatchState => actions.reduce(reduce, initialState({ now: 0 }))

let mounted: Instance[] = []
function mount(node: Parameters<typeof render>[0]): Instance {
  const r = render(node)
  mounted.push(r)
  return r
}
afterEach(() => {
  for (const r of mounted) r.unmount()
  mounted = []
})

const frame = (r: Instance) => r.lastFrame() ?? ''

async function until(r: Instance, check: (f: string) => boolean, ms = 2000): Promise<string> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (check(frame(r))) return frame(r)
    await new Promise((res) => setTimeout(res, 5))
  }
  throw new Error(`the frame never matched:\n${frame(r)}`)
}

async function press(r: Instance, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    r.stdin.write(k)
    await new Promise((res) => setTimeout(res, 5))
  }
}

describe('Header', () => {
  test('node name, identity, peer id, peers, uptime, sync state and a live connection', () => {
    const f = frame(mount(<Header state={state()} width={150} now={Date.now()} />))
    expect(f).toContain('node alice')
    expect(f).toContain('● connected')
    expect(f).toContain('up 1m 5s')
    expect(f).toContain('peers 2') // 1 from the snapshot + 1 connected since
    expect(f).toContain('sync idle')
    expect(f).toContain(`identity ${OWNER}`)
    expect(f).toContain('peer 12D3KooWPeer')
  })

  test('says disconnected, why, and when it retries', () => {
    const s = state([...populated(), { type: 'connection', state: 'disconnected', error: 'cannot reach the daemon', retryInMs: 2000 }])
    const f = frame(mount(<Header state={s} width={150} now={Date.now()} />))
    expect(f).toContain('○ disconnected — retrying in 2.0 s (cannot reach the daemon)')
    expect(f).not.toContain('connected ·')
    const again = state([...populated(), { type: 'connection', state: 'disconnected' }, { type: 'connection', state: 'reconnecting' }])
    expect(frame(mount(<Header state={again} width={150} now={Date.now()} />))).toContain('disconnected — reconnecting (attempt 1)')
  })
})

describe('GroupsPane', () => {
  test('one line per group; the selected group lists its members with roles, and its contexts', () => {
    const f = frame(mount(<GroupsPane state={state()} focused width={90} height={12} />))
    expect(f).toContain('▸ Groups (2)')
    expect(f).toMatch(/› b2b2b2…b2b2.*member\s+4 members\s+0 ctx/) // sorted: no alias first
    expect(f).toMatch(/team \(a1a1a1.*admin\s+2 members\s+1 ctx\s+1 rejected/)
    expect(f).toContain('members of b2b2b2…b2b2:')
    expect(f).toContain('4 (loading…)')
  })

  test('after moving the cursor it shows that group: owner, identities, roles, last rejection', () => {
    const s = state([...populated(), { type: 'key', input: '', key: { downArrow: true } }])
    const f = frame(mount(<GroupsPane state={s} focused width={90} height={14} />))
    expect(f).toContain(`admin     ${OWNER} (owner)`)
    expect(f).toContain(`member    ${ALICE}`)
    expect(f).toContain('contexts: CtxCCC…CCCC')
    expect(f).toContain('last rejected: MemberRemoved: the owner cannot be removed')
  })

  test('narrow panes shorten identities; empty and unavailable states say so', () => {
    const s = state([...populated(), { type: 'key', input: '', key: { downArrow: true } }])
    expect(frame(mount(<GroupsPane state={s} focused={false} width={40} height={12} />))).toContain('7Alice…AAAA')
    expect(frame(mount(<GroupsPane state={initialState()} focused={false} width={60} height={6} />))).toContain('no groups yet')
    const missing = reduce(initialState(), { type: 'snapshot', snapshot: { unavailable: ['group.list'] } })
    expect(frame(mount(<GroupsPane state={missing} focused={false} width={60} height={6} />))).toContain('does not serve group.list')
  })
})

describe('ContextsPane', () => {
  test('app, root hash, heads and sync status per context', () => {
    const f = frame(mount(<ContextsPane state={state()} focused={false} width={90} height={6} />))
    expect(f).toContain('  Contexts (1)')
    expect(f).toMatch(/CtxCCC…CCCC\s+app AppAAA…AAAA\s+root RootRR…RRRR\s+2 heads\s+in sync/)
  })

  test('a mutation shows the new root hash and single head', () => {
    const s = state([...populated(), { type: 'events', events: [ev({ type: 'context.state.mutated', contextId: CTX, rootHash: 'NewRootXXXXXXXXXXXXXXXXXXXXXXX', deltaId: 'D1', events: [] })] }])
    expect(frame(mount(<ContextsPane state={s} focused={false} width={90} height={6} />))).toMatch(/root NewRoo…XXXX\s+1 head\s/)
  })
})

describe('EventLog', () => {
  test('newest at the bottom, levels in words, follows the stream', () => {
    const f = frame(mount(<EventLog state={state()} focused={false} width={100} height={8} />))
    const lines = f.split('\n')
    expect(f).toContain('Events  3 kept  (following)')
    const joined = lines.findIndex((l) => l.includes('joined group'))
    const rejected = lines.findIndex((l) => l.includes('REJECTED'))
    const peer = lines.findIndex((l) => l.includes('peer 12D3Ko…ther'))
    expect(joined).toBeGreaterThan(0)
    expect(rejected).toBeGreaterThan(joined)
    expect(peer).toBeGreaterThan(rejected)
    expect(f).toContain('the owner cannot be removed')
    expect(f).toMatch(/12:00:00\.\d{3} member 7Alice…AAAA joined group a1a1a1…a1a1 as member/)
  })

  test('only the last entries fit; the filter narrows the log', () => {
    const many = state([...populated(), { type: 'events', events: Array.from({ length: 30 }, (_, i) => ev({ type: 'peer.disconnected', peerId: `Peer${i}` })) }])
    const f = frame(mount(<EventLog state={many} focused={false} width={100} height={6} />))
    expect(f).toContain('peer Peer29 disconnected')
    expect(f).not.toContain('peer Peer25 disconnected')
    const filtered = reduce(many, { type: 'snapshot', snapshot: {} })
    const s = { ...filtered, filter: 'rejected' }
    const g = frame(mount(<EventLog state={s} focused width={100} height={6} />))
    expect(g).toContain('filter "rejected": 1/33')
    expect(g).toContain('REJECTED: the owner cannot be removed (group a1a1a1…a1a1')
    expect(g).toContain('REJECTED')
    expect(g).not.toContain('Peer')
    expect(frame(mount(<EventLog state={{ ...s, filter: 'zzz' }} focused width={100} height={6} />))).toContain('no event matches the filter')
  })
})

describe('DetailsView and Footer', () => {
  test('group details: every member with role and capability names, heads, ops', () => {
    const s = state([...populated(), { type: 'key', input: '', key: { downArrow: true } }, { type: 'key', input: '', key: { return: true } }])
    const f = frame(mount(<DetailsView state={s} width={140} height={20} />))
    expect(f).toContain('Group team (a1a1a1…a1a1)  (esc: back)')
    expect(f).toContain(`group        ${G1}`)
    expect(f).toContain('ops          0 applied, 1 rejected, 0 pending')
    expect(f).toContain(`admin     ${OWNER} (owner)  caps: all`)
    expect(f).toContain(`member    ${ALICE}  caps: ?`)
  })

  test('event details show the raw event', () => {
    const s = state([...populated(), { type: 'key', input: '', key: { tab: true, shift: true } }, { type: 'key', input: '', key: { upArrow: true } }, { type: 'key', input: '', key: { return: true } }])
    const f = frame(mount(<DetailsView state={s} width={120} height={24} />))
    expect(f).toContain('group.op.rejected  #')
    expect(f).toContain('"reason": "the owner cannot be removed"')
  })

  test('footer: key help, the filter being typed, methods the daemon lacks', () => {
    expect(frame(mount(<Footer state={state()} width={120} />))).toContain('enter details · / filter')
    expect(frame(mount(<Footer state={{ ...state(), filterEditing: true, filter: 'peer' }} width={120} />))).toContain('/peer█')
    expect(frame(mount(<Footer state={{ ...state(), unavailable: ['context.list'] }} width={160} />))).toContain('daemon lacks context.list')
  })
})

describe('App: keys and layout', () => {
  function app(size = { columns: 100, rows: 30 }) {
    const store = new WatchStore({ flushMs: 10 })
    for (const a of populated()) store.dispatch(a)
    let quits = 0
    const r = mount(<App store={store} size={size} tick={false} onQuit={() => quits++} />)
    return { store, r, quits: () => quits }
  }

  test('tab, shift-tab and arrows move the focus between panes', async () => {
    const { r } = app()
    await until(r, (f) => f.includes('▸ Groups'))
    await press(r, KEYS.tab)
    await until(r, (f) => f.includes('▸ Contexts') && f.includes('  Groups'))
    await press(r, KEYS.right)
    await until(r, (f) => f.includes('▸ Events'))
    await press(r, KEYS.shiftTab, KEYS.left)
    await until(r, (f) => f.includes('▸ Groups'))
  })

  test('arrows move the cursor; enter opens details; esc goes back', async () => {
    const { r } = app()
    await press(r, KEYS.down)
    await until(r, (f) => f.includes('members of team'))
    await press(r, KEYS.enter)
    let f = await until(r, (x) => x.includes('(esc: back)'))
    expect(f).toContain(`group        ${G1}`)
    expect(f).not.toContain('Events')
    await press(r, KEYS.esc)
    f = await until(r, (x) => !x.includes('(esc: back)'))
    expect(f).toContain('Events')
  })

  test('/ filters the log as you type; esc clears', async () => {
    const { r } = app()
    await press(r, '/', 'r', 'e', 'j')
    let f = await until(r, (x) => x.includes('/rej█'))
    expect(f).toContain('filter "rej": 1/3')
    expect(f).not.toContain('joined group')
    await press(r, KEYS.backspace, KEYS.backspace, KEYS.backspace, 'p', 'e', 'e', 'r', KEYS.enter)
    f = await until(r, (x) => x.includes('filter "peer"') && !x.includes('█'))
    expect(f).toContain('peer 12D3Ko…ther')
    await press(r, KEYS.esc)
    await until(r, (x) => x.includes('3 kept'))
  })

  test('q quits (and is typed, not obeyed, inside the filter)', async () => {
    const { r, quits } = app()
    await press(r, '/', 'q')
    await until(r, (x) => x.includes('/q█'))
    expect(quits()).toBe(0)
    await press(r, KEYS.esc, 'q')
    for (let i = 0; i < 100 && quits() === 0; i++) await new Promise((res) => setTimeout(res, 10))
    expect(quits()).toBe(1)
  })

  test('events pushed to the store appear on screen; a live member addition shows in the groups pane', async () => {
    const { r, store } = app()
    await press(r, KEYS.down)
    const BOB = '9BobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
    store.pushEvent(ev({ type: 'group.member.added', groupId: G1, identity: BOB, role: 'read-only' }))
    const f = await until(r, (x) => x.includes('9BobBB…BBBB'))
    expect(f).toMatch(/read-only 9BobBB…BBBB/)
    expect(f).toContain('member 9BobBB…BBBB joined group')
  })

  test('wide terminals put the panes side by side, narrow ones stack them; every line fits', async () => {
    const wide = app({ columns: 100, rows: 30 }).r
    const f = await until(wide, (x) => x.includes('Groups'))
    const row = f.split('\n').find((l) => l.includes('Groups'))!
    expect(row).toContain('Contexts') // same line
    expect(Math.max(...f.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100)
    expect(f.split('\n').length).toBeLessThanOrEqual(29) // one line short of the terminal: no full-screen clear
    const narrow = app({ columns: 60, rows: 30 }).r
    const g = await until(narrow, (x) => x.includes('Groups'))
    expect(g.split('\n').find((l) => l.includes('Groups'))).not.toContain('Contexts')
    expect(Math.max(...g.split('\n').map((l) => l.length))).toBeLessThanOrEqual(60)
  })

  test('follows the terminal when it is resized', async () => {
    const store = new WatchStore()
    for (const a of populated()) store.dispatch(a)
    const r = mount(<App store={store} tick={false} />)
    let columns = 100
    let rows = 30
    Object.defineProperty(r.stdout, 'columns', { get: () => columns, configurable: true })
    Object.defineProperty(r.stdout, 'rows', { get: () => rows, configurable: true })
    r.stdout.emit('resize')
    await until(r, (x) => x.split('\n').find((l) => l.includes('Groups'))?.includes('Contexts') ?? false)
    columns = 70
    rows = 40
    r.stdout.emit('resize')
    const f = await until(r, (x) => !(x.split('\n').find((l) => l.includes('Groups'))?.includes('Contexts') ?? true))
    expect(Math.max(...f.split('\n').map((l) => l.length))).toBeLessThanOrEqual(70)
    expect(f.split('\n').length).toBe(39)
  })
})
