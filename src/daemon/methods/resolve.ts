import type { AliasKind } from '../../core/aliases/alias-store.js'
import type { MeroNode } from '../../core/node/node.js'
import { MeroError } from '../../core/primitives/errors.js'
import { isBase58Id32, isHex32 } from '../../core/primitives/ids.js'

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
  throw new MeroError('AliasNotFound', `'${text}' is neither a ${kind} id nor a ${kind} alias; \`meroctl alias list --kind ${kind}\` lists the aliases`)
}
