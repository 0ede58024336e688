import type { SyncOutcome } from '../../core/sync/context-replicator.js'
import { formatBytes, formatMs, formatTime, keyValue, shortId, table } from '../render.js'

/** Shapes of the context and application RPC results. */
export interface ApplicationView {
  applicationId: string
  kind?: 'package' | 'development'
  size: number
  installedAt: number
  source?: string
  alias?: string | null
  abi?: { methods: { name: string; readOnly?: boolean }[]; events?: unknown[] }
  package?: string
  version?: string
  signer?: string
  moduleId?: string
  bundleId?: string
  previousVersions?: string[]
}

/** "package" or "development (unsigned)": how an application was installed. */
export function applicationKind(a: ApplicationView): string {
  return a.kind === 'package' ? 'package' : 'development (unsigned)'
}

export interface ContextView {
  contextId: string
  groupId: string
  applicationId: string
  alias?: string | null
  rootHash: string
  heads: string[]
  visibility?: 'open' | 'restricted'
  allowlist?: string[]
  members?: string[]
  createdAt?: number
  pendingUpgrade?: string | null
  sync?: { state: string; peers?: number; lastSync?: SyncOutcome | null; lastFetch?: SyncOutcome | null; pendingDeltas?: number; failures?: number }
}

export interface ExecutionView {
  result: unknown
  events: { kind: string; data: unknown }[]
  logs?: string[]
  rootHash: string
  deltaId?: string | null
}

export function renderApplication(a: ApplicationView): string {
  const methods = a.abi?.methods.map((m) => `${m.name}${m.readOnly ? ' (view)' : ''}`) ?? []
  return keyValue([
    ['application', a.applicationId],
    ['alias', a.alias ?? undefined],
    ['kind', applicationKind(a)],
    ...(a.kind === 'package'
      ? ([
          ['package', `${a.package} ${a.version}`],
          ['signer', a.signer],
          ['module', a.moduleId],
          ...(a.previousVersions?.length ? [['replaced', a.previousVersions.join(', ')]] : []),
        ] as [string, string][])
      : []),
    ['size', formatBytes(a.size)],
    ['installed', formatTime(a.installedAt)],
    ['source', a.source],
    ['methods', methods.length ? methods : ['(no ABI section)']],
  ])
}

export function renderContext(c: ContextView): string {
  return keyValue([
    ['context', c.contextId],
    ['alias', c.alias ?? undefined],
    ['group', c.groupId],
    ['application', c.applicationId],
    ...(c.pendingUpgrade ? ([['upgrade to', c.pendingUpgrade]] as [string, string][]) : []),
    ['root hash', c.rootHash],
    ['heads', c.heads.map((h) => shortId(h))],
    ['visibility', c.visibility],
    ...(c.visibility === 'restricted' ? ([['allowlist', c.allowlist ?? []]] as [string, string[]][]) : []),
    ...(c.members ? ([['members', c.members.length]] as [string, number][]) : []),
    ...(c.sync
      ? ([
          ['sync', `${c.sync.state}${c.sync.peers !== undefined ? `, ${c.sync.peers} peer(s)` : ''}${c.sync.pendingDeltas ? `, ${c.sync.pendingDeltas} pending` : ''}${c.sync.failures ? `, ${c.sync.failures} failure(s)` : ''}`],
          ['last sync', c.sync.lastSync ? describeSync(c.sync.lastSync) : 'never'],
          // the last session that brought something, when later ones found nothing left
          ...(c.sync.lastFetch && c.sync.lastFetch.at !== c.sync.lastSync?.at ? [['last fetch', describeSync(c.sync.lastFetch)]] : []),
        ] as [string, string][])
      : []),
  ])
}

export function renderContexts(contexts: ContextView[], id: (id: string) => string = shortId, opts: { wide?: boolean } = {}): string {
  return table(['context', 'alias', 'group', 'application', 'root hash'], contexts.map((c) => [id(c.contextId), c.alias, id(c.groupId), id(c.applicationId), id(c.rootHash)]), { empty: 'no contexts; create one with `meroctl context create --group <g> --app <a>`', ...opts })
}

/** A JSON value rendered readably: strings bare, the rest as indented JSON. */
export function renderValue(v: unknown): string {
  if (v === null || v === undefined) return '(no result)'
  if (typeof v === 'string') return v
  return JSON.stringify(v, null, 2)
}

export function renderEvents(events: { kind: string; data: unknown }[]): string {
  return events.map((e) => `event ${e.kind}${e.data === null || e.data === undefined || e.data === '' ? '' : ` ${JSON.stringify(e.data)}`}`).join('\n')
}

function describeSync(s: SyncOutcome): string {
  const what = s.ok ? `${s.fetched} fetched (${s.method}) in ${formatMs(s.durationMs)}` : `failed: ${s.error ?? 'unknown error'}`
  return `${formatTime(s.at)} with ${shortId(s.peerId)}, ${what}`
}
