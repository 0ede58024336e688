import type { AliasKind } from '../../core/aliases/alias-store.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58 } from '../../core/primitives/encoding.js'
import { MeroError } from '../../core/primitives/errors.js'
import { isBase58Id32, isHex32, parseGroupId } from '../../core/primitives/ids.js'
import { didYouMean, suggest } from '../../core/primitives/suggest.js'

const LOOKS_LIKE_ID: Record<AliasKind, (s: string) => boolean> = {
  context: isBase58Id32,
  application: isBase58Id32,
  identity: isBase58Id32,
  group: isHex32,
}

/** An id, or the id a node-local alias of that kind names. */
export function resolveId(node: MeroNode, kind: AliasKind, text: string): string {
  if (LOOKS_LIKE_ID[kind](text)) return text
  const id = node.aliases.get(kind, text)
  if (id) return id
  const a = /^[aeiou]/.test(kind) ? 'an' : 'a'
  throw aliasNotFound(node, kind, text, `'${text}' is neither ${a} ${kind} id nor ${a} ${kind} alias.`)
}

/** AliasNotFound, with the node's aliases of that kind closest to what was typed. */
export function aliasNotFound(node: MeroNode, kind: AliasKind, text: string, what = `no ${kind} alias '${text}'.`): MeroError {
  const names = node.aliases.list(kind).map((e) => e.alias)
  return new MeroError('AliasNotFound', `${what}${didYouMean(text, names)} \`meroctl alias list --kind ${kind}\` lists the aliases`, suggestions(text, names))
}

/**
 * A group this node holds, named by id (hex), node-local alias, or the group's replicated alias
 * (when exactly one group carries it). Its id, as bytes.
 */
export function resolveGroup(node: MeroNode, text: string): Buffer {
  if (isHex32(text)) {
    const id = parseGroupId(text)
    if (!node.groups.has(id)) throw new MeroError('GroupNotFound', `no group ${text.toLowerCase()} on this node; \`meroctl group list\` shows the groups`)
    return id
  }
  const local = node.aliases.get('group', text)
  if (local && isHex32(local) && node.groups.has(parseGroupId(local))) return parseGroupId(local)
  const matches = node.groups.groupIds().filter((g) => node.groups.state(g).current('alias') === text)
  if (matches.length === 1) return matches[0]!
  if (matches.length > 1) throw new MeroError('Conflict', `${matches.length} groups are called '${text}'; use the group id`)
  const names = [...node.aliases.list('group').map((e) => e.alias), ...node.groups.groupIds().map((g) => node.groups.state(g).current('alias')).filter((a): a is string => typeof a === 'string')]
  throw new MeroError('GroupNotFound', `no group '${text}' on this node (neither an id nor an alias).${didYouMean(text, names)} \`meroctl group list\` shows the groups`, suggestions(text, names))
}

/** The error's `suggestions` detail (JSON output), when there are any. */
function suggestions(text: string, names: string[]): Record<string, unknown> | undefined {
  const s = suggest(text, names)
  return s.length ? { suggestions: s } : undefined
}

/** An identity: a base58 public key or an identity alias. */
export function resolveIdentity(node: MeroNode, text: string): Buffer {
  return fromBase58(resolveId(node, 'identity', text), 'identity', 32)
}
