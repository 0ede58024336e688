import { MeroError } from '../../core/primitives/errors.js'
import { isBase58Id32, isHex32 } from '../../core/primitives/ids.js'
import { aliasNotFound } from './resolve.js'
import type { Handlers } from './types.js'

/** alias.* — node-local names for contexts, applications, identities and groups. */
export const aliasHandlers = {
  'alias.create': ({ kind, alias, id, force }, { node }) => {
    const valid = kind === 'group' ? isHex32(id) : isBase58Id32(id)
    if (!valid) throw new MeroError('InvalidInput', `'${id}' is not a ${kind} id (${kind === 'group' ? '64 hex characters' : '32 bytes in base58'})`)
    return node.aliases.create(kind, alias, id, force)
  },
  'alias.list': ({ kind }, { node }) => ({ aliases: node.aliases.list(kind) }),
  'alias.get': ({ kind, alias }, { node }) => {
    const id = node.aliases.get(kind, alias)
    if (!id) throw aliasNotFound(node, kind, alias)
    return { kind, alias, id }
  },
  'alias.remove': ({ kind, alias }, { node }) => {
    if (!node.aliases.remove(kind, alias)) throw aliasNotFound(node, kind, alias)
    return { kind, alias, removed: true }
  },
} satisfies Handlers<'alias'>
