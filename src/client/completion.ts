import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NODE_EVENT_TYPES } from '../events/event-types.js'
import { resolveNodeHome } from '../home/paths.js'
import { nodeNames } from './node-names.js'
import { RpcClient } from './rpc-client.js'

/**
 * Shell completion for meroctl. The shells' scripts (`meroctl autocomplete bash|zsh|fish`) call
 * completion-main.js with the words typed so far; it answers with candidates, one per line, from
 * the oclif manifest (commands, flags, options) and, when the node's daemon is running, from the
 * node itself (group, context, application and identity names). It never starts a daemon and
 * never loads oclif, so a completion costs about a Node.js start.
 */
interface ManifestFlag {
  name: string
  char?: string
  type: 'boolean' | 'option'
  options?: string[]
  allowNo?: boolean
}
interface ManifestCommand {
  id: string
  hidden?: boolean
  args?: Record<string, { name: string; options?: string[] }>
  flags?: Record<string, ManifestFlag>
  strict?: boolean
}

const GLOBAL_WITH_VALUE = new Set(['--home', '--node'])

/** The shell should complete file names here. */
export const FILES = '__files__'

const MANIFEST = fileURLToPath(new URL('../../oclif.manifest.json', import.meta.url))

/** What a positional argument or flag value names, by its name: the node completes those. */
const NAMED: Record<string, 'group' | 'context' | 'application' | 'identity' | 'alias' | 'file' | 'node' | 'event type'> = {
  group: 'group',
  context: 'context',
  app: 'application',
  application: 'application',
  identity: 'identity',
  identities: 'identity',
  alias: 'alias',
  file: 'file',
  output: 'file',
  home: 'file',
  node: 'node',
  type: 'event type',
}

function loadCommands(): ManifestCommand[] {
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { commands: Record<string, ManifestCommand> }
  return Object.values(manifest.commands).filter((c) => !c.hidden)
}

/**
 * Candidates for the word at `cword` of `words` (words[0] is the program). Names that need the
 * node come from `names` (the daemon when it runs).
 */
export async function complete(words: string[], cword: number, names: (kind: string, where: { home?: string; node?: string }) => Promise<string[]> = nodeNamesOf): Promise<string[]> {
  const commands = loadCommands()
  const typed = words.slice(1, cword)
  const current = words[cword] ?? ''
  const where = { home: flagValue(typed, 'home'), node: flagValue(typed, 'node') }

  // global flags may come first (meroctl moves them behind the command): set them aside
  let lead = 0
  while (typed[lead]?.startsWith('-')) lead += GLOBAL_WITH_VALUE.has(typed[lead]!) ? 2 : 1
  const rest = typed.slice(lead)
  // the command: the longest run of leading words that is a command id
  const plain = rest.filter((w) => !w.startsWith('-'))
  let command: ManifestCommand | undefined
  let idWords = 0
  for (const c of commands) {
    const parts = c.id.split(':')
    if (parts.length > idWords && parts.every((p, i) => plain[i] === p) && rest.slice(0, parts.length).every((w) => !w.startsWith('-'))) {
      command = c
      idWords = parts.length
    }
  }
  const after = command ? rest.slice(idWords) : rest
  const previous = typed[typed.length - 1]

  // a flag's value
  if (previous?.startsWith('-') && !current.startsWith('-')) {
    const flag = findFlag(command, previous)
    if (flag?.type === 'option') return matching(flag.options ?? (await valuesFor(flag.name, names, where)), current)
  }
  if (current.startsWith('-')) {
    const flags = Object.values(command?.flags ?? { json: { name: 'json', type: 'boolean' } as ManifestFlag })
    return flags.flatMap((f) => [`--${f.name}`, ...(f.allowNo ? [`--no-${f.name}`] : [])]).filter((f) => f.startsWith(current))
  }
  // the next word of a command id (topics and commands)
  const next = new Set<string>()
  const prefix = plain.slice(0, command ? idWords : plain.length)
  for (const c of commands) {
    const parts = c.id.split(':')
    if (parts.length > prefix.length && prefix.every((p, i) => parts[i] === p)) next.add(parts[prefix.length]!)
  }
  // a positional argument of the command
  const args = Object.values(command?.args ?? {})
  const index = after.filter((w, i) => !w.startsWith('-') && !isFlagValue(command, after, i)).length
  const arg = args[index] ?? (command?.strict === false ? args[args.length - 1] : undefined)
  const forArg = arg ? (arg.options ?? (await valuesFor(arg.name, names, where))) : []
  const out = [...forArg, ...(command && idWords === prefix.length && rest.length > idWords ? [] : next)]
  return matching(out, current)
}

const matching = (candidates: string[], current: string) => candidates.filter((c) => c === FILES || c.startsWith(current))

function findFlag(command: ManifestCommand | undefined, word: string): ManifestFlag | undefined {
  const flags = Object.values(command?.flags ?? {})
  if (word.startsWith('--')) return flags.find((f) => f.name === word.slice(2))
  return flags.find((f) => f.char === word.slice(1))
}

function isFlagValue(command: ManifestCommand | undefined, words: string[], i: number): boolean {
  const before = words[i - 1]
  return Boolean(before?.startsWith('-') && !before.includes('=') && findFlag(command, before)?.type === 'option')
}

function flagValue(words: string[], name: string): string | undefined {
  for (let i = words.length - 1; i >= 0; i--) {
    const w = words[i]!
    if (w.startsWith(`--${name}=`)) return w.slice(name.length + 3)
    if (w === `--${name}`) return words[i + 1]
  }
  return undefined
}

async function valuesFor(name: string, names: (kind: string, where: { home?: string; node?: string }) => Promise<string[]>, where: { home?: string; node?: string }): Promise<string[]> {
  const kind = NAMED[name]
  if (!kind) return []
  if (kind === 'file') return [FILES]
  return names(kind, where)
}

/** Names from the node: its aliases (and groups' replicated aliases) through a running daemon only. */
async function nodeNamesOf(kind: string, where: { home?: string; node?: string }): Promise<string[]> {
  if (kind === 'node') return nodeNames(resolveNodeHome(where.home).home)
  if (kind === 'event type') return [...NODE_EVENT_TYPES]
  let home
  try {
    home = resolveNodeHome(where.home, where.node)
  } catch {
    return []
  }
  if (!existsSync(home.socket)) return []
  const client = new RpcClient(home.socket, { timeoutMs: 1_000 })
  try {
    const calls = [{ jsonrpc: '2.0', id: 1, method: 'alias.list', params: kind === 'alias' ? {} : { kind } }, ...(kind === 'group' ? [{ jsonrpc: '2.0', id: 2, method: 'group.list', params: {} }] : [])]
    const answers = (await client.post(calls)) as { id: number; result?: { aliases?: { alias: string }[]; groups?: { alias?: string | null }[] } }[]
    const out = new Set<string>()
    for (const a of answers ?? []) {
      for (const x of a.result?.aliases ?? []) out.add(x.alias)
      for (const g of a.result?.groups ?? []) if (g.alias) out.add(g.alias)
    }
    return [...out].sort()
  } catch {
    return []
  } finally {
    client.close()
  }
}
