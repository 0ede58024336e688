import { z } from 'zod'
import { MeroError } from '../../core/primitives/errors.js'
import { isBase58Id32, isHex32 } from '../../core/primitives/ids.js'
import { aliasNotFound } from './resolve.js'
import { aliasKind, aliasName } from './schemas.js'
import { method, type MethodTable } from './types.js'

/** alias.* — node-local names for contexts, applications, identities and groups. */
export const aliasMethods: MethodTable = {
  'alias.create': method({
    description: 'Name an id of a kind (context, application, identity, group)',
    params: z.object({ kind: aliasKind, alias: aliasName, id: z.string(), force: z.boolean().default(false) }).strict(),
    handler: ({ kind, alias, id, force }, { node }) => {
      const valid = kind === 'group' ? isHex32(id) : isBase58Id32(id)
      if (!valid) throw new MeroError('InvalidInput', `'${id}' is not a ${kind} id (${kind === 'group' ? '64 hex characters' : '32 bytes in base58'})`)
      return node.aliases.create(kind, alias, id, force)
    },
  }),
  'alias.list': method({
    description: 'List aliases, optionally of one kind',
    params: z.object({ kind: aliasKind.optional() }).strict(),
    handler: ({ kind }, { node }) => ({ aliases: node.aliases.list(kind) }),
  }),
  'alias.get': method({
    description: 'The id an alias names',
    params: z.object({ kind: aliasKind, alias: aliasName }).strict(),
    handler: ({ kind, alias }, { node }) => {
      const id = node.aliases.get(kind, alias)
      if (!id) throw aliasNotFound(node, kind, alias)
      return { kind, alias, id }
    },
  }),
  'alias.remove': method({
    description: 'Remove an alias',
    params: z.object({ kind: aliasKind, alias: aliasName }).strict(),
    handler: ({ kind, alias }, { node }) => {
      if (!node.aliases.remove(kind, alias)) throw aliasNotFound(node, kind, alias)
      return { kind, alias, removed: true }
    },
  }),
}
