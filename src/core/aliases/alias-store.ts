import { MeroError } from '../primitives/errors.js'
import { validateAlias } from '../primitives/ids.js'
import type { Store } from '../store/store.js'

/**
 * Node-local aliases (seed 002): names for contexts, applications, identities and groups that
 * this node's user chose. They are accepted wherever an id is. (Group, member and context
 * aliases set by governance ops are replicated instead; see core/governance.)
 */
export const ALIAS_KINDS = ['context', 'application', 'identity', 'group'] as const
export type AliasKind = (typeof ALIAS_KINDS)[number]

const KIND_TAG: Record<AliasKind, number> = { context: 1, application: 2, identity: 3, group: 4 }

export interface AliasEntry {
  kind: AliasKind
  alias: string
  id: string
}

const key = (kind: AliasKind, alias: string) => Buffer.concat([Buffer.from([KIND_TAG[kind]]), Buffer.from(alias, 'utf8')])

export class AliasStore {
  constructor(private readonly store: Store) {}

  /** Sets an alias; refuses to repoint an existing one unless `force`. */
  create(kind: AliasKind, alias: string, id: string, force = false): AliasEntry {
    validateAlias(alias)
    const current = this.get(kind, alias)
    if (current && current !== id && !force) {
      throw new MeroError('AlreadyExists', `${kind} alias '${alias}' already points to ${current}; pass --force to repoint it`)
    }
    this.store.put('alias', key(kind, alias), Buffer.from(id, 'utf8'))
    return { kind, alias, id }
  }

  get(kind: AliasKind, alias: string): string | undefined {
    return this.store.get('alias', key(kind, alias))?.toString('utf8')
  }

  remove(kind: AliasKind, alias: string): boolean {
    if (!this.get(kind, alias)) return false
    this.store.del('alias', key(kind, alias))
    return true
  }

  list(kind?: AliasKind): AliasEntry[] {
    const kinds = kind ? [kind] : ALIAS_KINDS
    return kinds.flatMap((k) =>
      this.store.scanPrefix('alias', Buffer.from([KIND_TAG[k]])).map(([kb, v]) => ({ kind: k, alias: kb.subarray(1).toString('utf8'), id: v.toString('utf8') })),
    )
  }

  /** Aliases pointing at an id (for display). */
  aliasesOf(kind: AliasKind, id: string): string[] {
    return this.list(kind)
      .filter((e) => e.id === id)
      .map((e) => e.alias)
  }

  /** Removes every alias of an id (when the thing it named is deleted). */
  forget(kind: AliasKind, id: string): void {
    for (const a of this.aliasesOf(kind, id)) this.remove(kind, a)
  }
}
