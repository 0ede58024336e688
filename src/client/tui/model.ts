import type { NodeEvent } from '../../core/node/events.js'
import { describeEvent, type EventLevel } from './describe.js'

/**
 * The view model of `meroctl watch`: a pure reducer over snapshots (RPC), streamed node events,
 * connection changes and keys. The ink components only draw it; everything the screen shows is
 * decided here, so it is tested without a terminal.
 */

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected'
export type PaneId = 'groups' | 'contexts' | 'log'
export const PANES: readonly PaneId[] = ['groups', 'contexts', 'log']

export interface NodeHeader {
  name?: string
  identity?: string
  peerId?: string
  version?: string
  peers: number
  /** Uptime as last reported, and the local time it was reported at (the header ticks from it). */
  uptimeMs?: number
  uptimeAt?: number
}

export interface MemberItem {
  identity: string
  role: string
  capabilities?: number
  alias?: string | null
}

export interface GroupItem {
  groupId: string
  alias?: string | null
  owner?: string
  myRole?: string | null
  /** Undefined until group.get answered (group.list only counts them). */
  members?: MemberItem[]
  memberCount: number
  contexts: string[]
  stateHash?: string
  heads?: string[]
  opsApplied: number
  opsRejected: number
  opsPending: number
  lastRejection?: string
  equivocations: number
  deleted: boolean
  sync?: string
}

export interface ContextItem {
  contextId: string
  groupId?: string
  applicationId?: string
  alias?: string | null
  rootHash?: string
  heads: string[]
  sync: string
  deltas: number
  lastRejection?: string
}

export interface LogEntry {
  /** Position in the stream as this client received it (unique, increasing); the log's key. */
  id: number
  seq: number
  ts: number
  type: string
  level: EventLevel
  text: string
  groupId?: string
  contextId?: string
  event: NodeEvent
}

export interface Connection {
  state: ConnectionState
  since: number
  attempt: number
  error?: string
  retryInMs?: number
}

/** What the RPC snapshot loader found; a field left undefined was not loaded (method missing). */
export interface Snapshot {
  node?: Partial<NodeHeader>
  groups?: GroupItem[]
  contexts?: ContextItem[]
  /** RPC methods the daemon does not serve (-32601): the panes say so instead of staying empty. */
  unavailable?: string[]
}

export interface WatchState {
  node: NodeHeader
  connection: Connection
  /** Active sync sessions (by subject: since when, and its sync status before) and the last outcome, for the header. */
  syncSessions: Record<string, { at: number; before?: string }>
  lastSync?: { ok: boolean; at: number; error?: string }
  groups: GroupItem[]
  contexts: ContextItem[]
  log: LogEntry[]
  logCap: number
  totalEvents: number
  unavailable: string[]
  focus: PaneId
  /** Cursor per pane, by key (group id, context id, log entry id); log: undefined = follow the newest. */
  cursor: { groups?: string; contexts?: string; log?: number }
  filter: string
  filterEditing: boolean
  details: { pane: PaneId; key: string } | null
  quit: boolean
}

export interface KeyInput {
  upArrow?: boolean
  downArrow?: boolean
  leftArrow?: boolean
  rightArrow?: boolean
  pageUp?: boolean
  pageDown?: boolean
  home?: boolean
  end?: boolean
  return?: boolean
  escape?: boolean
  ctrl?: boolean
  shift?: boolean
  tab?: boolean
  backspace?: boolean
  delete?: boolean
  meta?: boolean
}

export type Action =
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'group.loaded'; group: GroupItem }
  | { type: 'context.loaded'; context: ContextItem }
  | { type: 'events'; events: NodeEvent[] }
  | { type: 'connection'; state: ConnectionState; error?: string; retryInMs?: number; at?: number }
  | { type: 'key'; input: string; key: KeyInput }

export const DEFAULT_LOG_CAP = 1000
const PAGE = 10

export function initialState(opts: { logCap?: number; now?: number; nodeName?: string } = {}): WatchState {
  return {
    node: { peers: 0, name: opts.nodeName },
    connection: { state: 'connecting', since: opts.now ?? Date.now(), attempt: 1 },
    syncSessions: {},
    groups: [],
    contexts: [],
    log: [],
    logCap: opts.logCap ?? DEFAULT_LOG_CAP,
    totalEvents: 0,
    unavailable: [],
    focus: 'groups',
    cursor: {},
    filter: '',
    filterEditing: false,
    details: null,
    quit: false,
  }
}

export function reduce(state: WatchState, action: Action): WatchState {
  switch (action.type) {
    case 'snapshot':
      return applySnapshot(state, action.snapshot)
    case 'group.loaded':
      return { ...state, groups: upsertGroup(state.groups, mergeGroup(state.groups.find((g) => g.groupId === action.group.groupId), action.group)) }
    case 'context.loaded':
      return { ...state, contexts: upsertContext(state.contexts, mergeContext(state.contexts.find((c) => c.contextId === action.context.contextId), action.context)) }
    case 'events':
      return applyEvents(state, action.events)
    case 'connection': {
      const at = action.at ?? Date.now()
      const changed = action.state !== state.connection.state
      const attempt = action.state === 'connected' ? 0 : action.state === 'reconnecting' ? state.connection.attempt + 1 : state.connection.attempt
      return {
        ...state,
        connection: { state: action.state, since: changed ? at : state.connection.since, attempt, error: action.error, retryInMs: action.retryInMs },
        // sessions cannot be known to still run across a lost connection
        syncSessions: action.state === 'connected' ? state.syncSessions : {},
      }
    }
    case 'key':
      return applyKey(state, action.input, action.key)
  }
}

// ---------------------------------------------------------------- snapshots

function applySnapshot(state: WatchState, snap: Snapshot): WatchState {
  const next: WatchState = { ...state, unavailable: snap.unavailable ?? state.unavailable }
  if (snap.node) next.node = { ...state.node, ...definedOnly(snap.node) }
  if (snap.groups) {
    const old = new Map(state.groups.map((g) => [g.groupId, g]))
    next.groups = sortGroups(snap.groups.map((g) => mergeGroup(old.get(g.groupId), g)))
  }
  if (snap.contexts) {
    const old = new Map(state.contexts.map((c) => [c.contextId, c]))
    next.contexts = sortContexts(snap.contexts.map((c) => mergeContext(old.get(c.contextId), c)))
  }
  return next
}

/** A loaded item replaces what the RPC knows; counters seen only in events are kept. */
function mergeGroup(old: GroupItem | undefined, fresh: GroupItem): GroupItem {
  if (!old) return fresh
  return {
    ...fresh,
    myRole: fresh.myRole ?? old.myRole, // group.get does not say; group.list does
    members: fresh.members ?? old.members,
    opsApplied: Math.max(old.opsApplied, fresh.opsApplied),
    opsRejected: Math.max(old.opsRejected, fresh.opsRejected),
    lastRejection: fresh.lastRejection ?? old.lastRejection,
    equivocations: Math.max(old.equivocations, fresh.equivocations),
    sync: fresh.sync ?? old.sync,
  }
}

function mergeContext(old: ContextItem | undefined, fresh: ContextItem): ContextItem {
  if (!old) return fresh
  return { ...fresh, deltas: Math.max(old.deltas, fresh.deltas), lastRejection: fresh.lastRejection ?? old.lastRejection }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** By alias (unaliased first), then by id: a total order, so the panes never reshuffle. */
function byLabel<T>(id: (x: T) => string, alias: (x: T) => string | null | undefined) {
  const key = (x: T) => `${alias(x) ?? ''}\u0000${id(x)}`
  return (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)
}
const groupOrder = byLabel<GroupItem>((g) => g.groupId, (g) => g.alias)
const contextOrder = byLabel<ContextItem>((c) => c.contextId, (c) => c.alias)
function sortGroups(groups: GroupItem[]): GroupItem[] {
  return groups.sort(groupOrder)
}
function sortContexts(contexts: ContextItem[]): ContextItem[] {
  return contexts.sort(contextOrder)
}

function upsertGroup(groups: GroupItem[], g: GroupItem): GroupItem[] {
  const i = groups.findIndex((x) => x.groupId === g.groupId)
  if (i === -1) return sortGroups([...groups, g])
  const copy = groups.slice()
  copy[i] = g
  return copy
}

function upsertContext(contexts: ContextItem[], c: ContextItem): ContextItem[] {
  const i = contexts.findIndex((x) => x.contextId === c.contextId)
  if (i === -1) return sortContexts([...contexts, c])
  const copy = contexts.slice()
  copy[i] = c
  return copy
}

export function emptyGroup(groupId: string): GroupItem {
  return { groupId, memberCount: 0, contexts: [], opsApplied: 0, opsRejected: 0, opsPending: 0, equivocations: 0, deleted: false }
}

export function emptyContext(contextId: string): ContextItem {
  return { contextId, heads: [], sync: 'unknown', deltas: 0 }
}

// ---------------------------------------------------------------- events

/**
 * Applies a batch of events (the store flushes them at most every 100 ms). Groups and contexts
 * are copied once per batch and edited in place, so a batch of n events costs O(n), not
 * O(n × groups).
 */
function applyEvents(state: WatchState, events: NodeEvent[]): WatchState {
  if (events.length === 0) return state
  const groups = new Map(state.groups.map((g) => [g.groupId, g]))
  const contexts = new Map(state.contexts.map((c) => [c.contextId, c]))
  const touchedGroups = new Set<string>()
  const touchedContexts = new Set<string>()
  const group = (gid: string): GroupItem => {
    let g = groups.get(gid)
    if (!touchedGroups.has(gid)) {
      g = g ? { ...g } : emptyGroup(gid)
      groups.set(gid, g)
      touchedGroups.add(gid)
    }
    return g!
  }
  const context = (cid: string): ContextItem => {
    let c = contexts.get(cid)
    if (!touchedContexts.has(cid)) {
      c = c ? { ...c } : emptyContext(cid)
      contexts.set(cid, c)
      touchedContexts.add(cid)
    }
    return c!
  }
  let node = state.node
  let syncSessions = state.syncSessions
  let lastSync = state.lastSync
  let connection = state.connection
  const entries: LogEntry[] = []
  let index = 0

  for (const e of events) {
    switch (e.type) {
      case 'heartbeat':
        node = { ...node, peers: e.peers, uptimeMs: e.uptimeMs, uptimeAt: e.ts }
        break
      case 'node.stopping':
        connection = { ...connection, error: 'the node is stopping' }
        break
      case 'group.created': {
        const g = group(e.groupId)
        g.owner = e.owner
        g.deleted = false
        break
      }
      case 'group.deleted':
        group(e.groupId).deleted = true
        break
      case 'group.op.applied':
        group(e.groupId).opsApplied++
        break
      case 'group.op.rejected': {
        const g = group(e.groupId)
        g.opsRejected++
        g.lastRejection = `${e.kind}: ${e.reason}`
        break
      }
      case 'group.op.pending':
        group(e.groupId).opsPending++
        break
      case 'group.member.added':
      case 'group.member.updated': {
        const g = group(e.groupId)
        const members = (g.members ?? []).filter((m) => m.identity !== e.identity)
        const prev = g.members?.find((m) => m.identity === e.identity)
        members.push({ ...prev, identity: e.identity, role: e.role, capabilities: e.type === 'group.member.updated' ? e.capabilities : prev?.capabilities })
        g.members = members
        g.memberCount = Math.max(members.length, e.type === 'group.member.added' && !prev ? g.memberCount + 1 : g.memberCount)
        break
      }
      case 'group.member.removed': {
        const g = group(e.groupId)
        const had = g.members?.some((m) => m.identity === e.identity)
        if (g.members) g.members = g.members.filter((m) => m.identity !== e.identity)
        if (had || !g.members) g.memberCount = Math.max(0, g.memberCount - 1)
        break
      }
      case 'group.equivocation':
        group(e.groupId).equivocations++
        break
      case 'context.created': {
        const c = context(e.contextId)
        c.groupId = e.groupId
        c.applicationId = e.applicationId
        const g = group(e.groupId)
        if (!g.contexts.includes(e.contextId)) g.contexts = [...g.contexts, e.contextId]
        break
      }
      case 'context.deleted': {
        contexts.delete(e.contextId)
        touchedContexts.delete(e.contextId)
        if (e.groupId && groups.has(e.groupId)) {
          const g = group(e.groupId)
          g.contexts = g.contexts.filter((x) => x !== e.contextId)
        }
        break
      }
      case 'context.state.mutated': {
        const c = context(e.contextId)
        c.rootHash = e.rootHash
        c.heads = [e.deltaId] // a local mutation's delta cites every head, so it is the only one
        c.deltas++
        break
      }
      case 'context.delta.applied': {
        const c = context(e.contextId)
        c.rootHash = e.rootHash
        c.deltas++
        break
      }
      case 'context.delta.rejected':
        context(e.contextId).lastRejection = e.reason
        break
      case 'peer.connected':
        node = { ...node, peers: node.peers + 1 }
        break
      case 'peer.disconnected':
        node = { ...node, peers: Math.max(0, node.peers - 1) }
        break
      case 'sync.started': {
        const subject = e.contextId ? context(e.contextId) : e.groupId ? group(e.groupId) : undefined
        syncSessions = { ...syncSessions, [syncKey(e)]: { at: e.ts, before: subject?.sync } }
        if (subject) subject.sync = 'syncing'
        break
      }
      case 'sync.finished': {
        const { [syncKey(e)]: done, ...rest } = syncSessions
        syncSessions = rest
        if (e.skipped) {
          // that peer is no replica: the status goes back to what it was before the session
          const subject = e.contextId ? context(e.contextId) : e.groupId ? group(e.groupId) : undefined
          if (subject && done) subject.sync = done.before ?? (e.contextId ? 'unknown' : undefined)
          break
        }
        lastSync = { ok: e.ok, at: e.ts, error: e.error }
        const status = e.ok ? 'in sync' : `failed: ${e.error ?? 'unknown error'}`
        if (e.contextId) context(e.contextId).sync = status
        else if (e.groupId) group(e.groupId).sync = status
        break
      }
    }
    if (e.type !== 'heartbeat') entries.push(toEntry(e, state.totalEvents + index + 1))
    index++
  }

  let log = state.log
  if (entries.length) {
    const keep = state.logCap
    log = entries.length >= keep ? entries.slice(-keep) : state.log.length + entries.length > keep ? [...state.log.slice(state.log.length + entries.length - keep), ...entries] : [...state.log, ...entries]
  }
  return {
    ...state,
    node,
    connection,
    syncSessions,
    lastSync,
    groups: touchedGroups.size || groups.size !== state.groups.length ? sortGroups([...groups.values()]) : state.groups,
    contexts: touchedContexts.size || contexts.size !== state.contexts.length ? sortContexts([...contexts.values()]) : state.contexts,
    log,
    totalEvents: state.totalEvents + events.length,
  }
}

function syncKey(e: { peerId: string; groupId?: string; contextId?: string }): string {
  return `${e.peerId}|${e.groupId ?? ''}|${e.contextId ?? ''}`
}

function toEntry(e: NodeEvent, id: number): LogEntry {
  const { text, level } = describeEvent(e)
  return { id, seq: e.seq, ts: e.ts, type: e.type, level, text, groupId: e.groupId, contextId: e.contextId, event: e }
}

// ---------------------------------------------------------------- selectors

/** The log entries the filter lets through (case-insensitive match on type, text and ids). */
export function visibleLog(state: Pick<WatchState, 'log' | 'filter'>): LogEntry[] {
  const f = state.filter.trim().toLowerCase()
  if (!f) return state.log
  return state.log.filter((e) => e.type.toLowerCase().includes(f) || e.text.toLowerCase().includes(f) || e.groupId?.toLowerCase().includes(f) || e.contextId?.toLowerCase().includes(f))
}

/** Index of the cursor in the visible log (the newest when following). */
export function logCursorIndex(state: WatchState, visible = visibleLog(state)): number {
  if (state.cursor.log === undefined) return visible.length - 1
  const i = visible.findIndex((e) => e.id === state.cursor.log)
  return i === -1 ? visible.length - 1 : i
}

export function groupCursorIndex(state: WatchState): number {
  const i = state.groups.findIndex((g) => g.groupId === state.cursor.groups)
  return i === -1 ? (state.groups.length ? 0 : -1) : i
}

export function contextCursorIndex(state: WatchState): number {
  const i = state.contexts.findIndex((c) => c.contextId === state.cursor.contexts)
  return i === -1 ? (state.contexts.length ? 0 : -1) : i
}

export function selectedGroup(state: WatchState): GroupItem | undefined {
  return state.groups[groupCursorIndex(state)]
}

export function selectedContext(state: WatchState): ContextItem | undefined {
  return state.contexts[contextCursorIndex(state)]
}

/** Overall sync state for the header. */
export function syncSummary(state: WatchState): string {
  const active = Object.keys(state.syncSessions).length
  if (active) return `syncing (${active} session${active === 1 ? '' : 's'})`
  if (state.lastSync && !state.lastSync.ok) return `last sync failed: ${state.lastSync.error ?? 'unknown error'}`
  if (state.lastSync) return 'in sync'
  return 'idle'
}

/** The item the details view shows, if it still exists. */
export function detailsItem(state: WatchState): { pane: 'groups'; item: GroupItem } | { pane: 'contexts'; item: ContextItem } | { pane: 'log'; item: LogEntry } | undefined {
  const d = state.details
  if (!d) return undefined
  if (d.pane === 'groups') {
    const item = state.groups.find((g) => g.groupId === d.key)
    return item && { pane: 'groups', item }
  }
  if (d.pane === 'contexts') {
    const item = state.contexts.find((c) => c.contextId === d.key)
    return item && { pane: 'contexts', item }
  }
  const item = state.log.find((e) => String(e.id) === d.key)
  return item && { pane: 'log', item }
}

// ---------------------------------------------------------------- keys

const SPECIAL_KEYS: (keyof KeyInput)[] = ['upArrow', 'downArrow', 'leftArrow', 'rightArrow', 'pageUp', 'pageDown', 'home', 'end', 'return', 'escape', 'ctrl', 'tab', 'backspace', 'delete', 'meta']

/** A character of a multi-key chunk as the key it stands for. */
function charKey(ch: string): KeyInput {
  if (ch === '\t') return { tab: true }
  if (ch === '\r' || ch === '\n') return { return: true }
  if (ch === '\u007f' || ch === '\b') return { backspace: true }
  return {}
}

function applyKey(state: WatchState, input: string, key: KeyInput): WatchState {
  // keys read in one chunk (fast typing, key repeat on a loaded machine) arrive as one string:
  // apply them one by one, so `q` after `tab` still quits and two tabs move twice
  if (input.length > 1 && !SPECIAL_KEYS.some((k) => key[k])) {
    let s = state
    for (const ch of input) s = applyKey(s, ch === '\t' || ch === '\r' || ch === '\n' || ch === '\u007f' || ch === '\b' ? '' : ch, charKey(ch))
    return s
  }
  if (state.filterEditing) return filterKey(state, input, key)
  if (state.details) {
    if (key.escape || key.return || key.backspace || key.delete || key.leftArrow) return { ...state, details: null }
    if (input === 'q' && !key.ctrl && !key.meta) return { ...state, quit: true }
    return state
  }
  if (input === 'q' && !key.ctrl && !key.meta) return { ...state, quit: true }
  if (input === '/') return { ...state, filterEditing: true, focus: 'log' }
  if (key.tab) return { ...state, focus: cyclePane(state.focus, key.shift ? -1 : 1) }
  if (key.rightArrow) return { ...state, focus: cyclePane(state.focus, 1) }
  if (key.leftArrow) return { ...state, focus: cyclePane(state.focus, -1) }
  if (key.upArrow || input === 'k') return moveCursor(state, -1)
  if (key.downArrow || input === 'j') return moveCursor(state, 1)
  if (key.pageUp) return moveCursor(state, -PAGE)
  if (key.pageDown) return moveCursor(state, PAGE)
  if (key.home || input === 'g') return moveCursor(state, -Infinity)
  if (key.end || input === 'G') return moveCursor(state, Infinity)
  if (key.return) return openDetails(state)
  if (key.escape) {
    if (state.filter) return { ...state, filter: '', cursor: { ...state.cursor, log: undefined } }
    if (state.focus === 'log' && state.cursor.log !== undefined) return { ...state, cursor: { ...state.cursor, log: undefined } }
  }
  return state
}

function filterKey(state: WatchState, input: string, key: KeyInput): WatchState {
  if (key.escape) return { ...state, filterEditing: false, filter: '', cursor: { ...state.cursor, log: undefined } }
  if (key.return) return { ...state, filterEditing: false }
  if (key.backspace || key.delete) return { ...state, filter: state.filter.slice(0, -1), cursor: { ...state.cursor, log: undefined } }
  if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return state
  // pasted text arrives as one string; keep only printable characters
  const text = input.replace(/[\u0000-\u001f\u007f]/g, '')
  if (!text) return state
  return { ...state, filter: (state.filter + text).slice(0, 200), cursor: { ...state.cursor, log: undefined } }
}

function cyclePane(p: PaneId, by: number): PaneId {
  const i = PANES.indexOf(p)
  return PANES[(i + by + PANES.length) % PANES.length]!
}

function clampIndex(i: number, by: number, length: number): number {
  if (length === 0) return -1
  const next = by === Infinity ? length - 1 : by === -Infinity ? 0 : i + by
  return Math.max(0, Math.min(length - 1, next))
}

function moveCursor(state: WatchState, by: number): WatchState {
  if (state.focus === 'groups') {
    const i = clampIndex(groupCursorIndex(state), by, state.groups.length)
    return i === -1 ? state : { ...state, cursor: { ...state.cursor, groups: state.groups[i]!.groupId } }
  }
  if (state.focus === 'contexts') {
    const i = clampIndex(contextCursorIndex(state), by, state.contexts.length)
    return i === -1 ? state : { ...state, cursor: { ...state.cursor, contexts: state.contexts[i]!.contextId } }
  }
  const visible = visibleLog(state)
  const i = clampIndex(logCursorIndex(state, visible), by, visible.length)
  if (i === -1) return state
  // reaching the newest entry resumes following the stream
  return { ...state, cursor: { ...state.cursor, log: i === visible.length - 1 ? undefined : visible[i]!.id } }
}

function openDetails(state: WatchState): WatchState {
  if (state.focus === 'groups') {
    const g = selectedGroup(state)
    return g ? { ...state, details: { pane: 'groups', key: g.groupId } } : state
  }
  if (state.focus === 'contexts') {
    const c = selectedContext(state)
    return c ? { ...state, details: { pane: 'contexts', key: c.contextId } } : state
  }
  const visible = visibleLog(state)
  const e = visible[logCursorIndex(state, visible)]
  return e ? { ...state, details: { pane: 'log', key: String(e.id) }, cursor: { ...state.cursor, log: e.id } } : state
}

// ---------------------------------------------------------------- refresh

export interface RefreshNeeds {
  status: boolean
  groupList: boolean
  contextList: boolean
  groups: Set<string>
  contexts: Set<string>
}

/**
 * Which RPC reads a batch of events makes stale: events carry the change but not everything the
 * panes show (aliases, state hash, heads, capability names), so those are re-read.
 */
export function refreshNeeds(events: NodeEvent[]): RefreshNeeds {
  const needs: RefreshNeeds = { status: false, groupList: false, contextList: false, groups: new Set(), contexts: new Set() }
  for (const e of events) {
    switch (e.type) {
      case 'group.created':
      case 'group.deleted':
        needs.groupList = true
        break
      case 'group.op.applied':
      case 'group.member.added':
      case 'group.member.removed':
      case 'group.member.updated':
      case 'group.equivocation':
        needs.groups.add(e.groupId)
        break
      case 'context.created':
      case 'context.deleted':
        needs.contextList = true
        if (e.groupId) needs.groups.add(e.groupId)
        break
      case 'context.state.mutated':
      case 'context.delta.applied':
        needs.contexts.add(e.contextId)
        break
      case 'peer.connected':
      case 'peer.disconnected':
        needs.status = true
        break
    }
  }
  return needs
}
