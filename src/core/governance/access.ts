import { Capability, type Role, type Visibility } from './ops.js'
import { GROUP_SCOPE } from './rotation.js'

/**
 * Who may read what, in one state of a group (the fold's view at a cut, after an op, or now): the
 * one definition behind key rotation (who loses reading, who gets the new key), sync (whom a node
 * serves) and the checks of a delta's author.
 *
 * - The group's scope (its ops and heartbeats): every member, whatever its role.
 * - A context: a member of the group while the context is registered, and
 *     restricted: an admin, or on the allowlist;
 *     open: an admin, joined to it, or holding join-open-contexts.
 *   Roles never take reading away by themselves (a read-only member reads); demoting an admin takes
 *   away the restricted contexts whose allowlist does not name it.
 * - Nobody reads anything of a deleted group.
 */
export interface AccessView {
  get(slot: string): unknown
  /** The slot names under `parent` (e.g. 'member/') that hold a value in this view. */
  names(parent: string): string[]
  role(pk: string): Role | undefined
  caps(pk: string): number
  context(id: string): { app: string; creator: string; registered: boolean } | undefined
}

export function mayReadGroup(v: AccessView, pk: string): boolean {
  return v.get('deleted') !== true && v.role(pk) !== undefined
}

export function mayReadContext(v: AccessView, pk: string, contextHex: string): boolean {
  if (v.get('deleted') === true || !v.context(contextHex)?.registered) return false
  const role = v.role(pk)
  if (!role) return false
  if (role === 'admin') return true
  if ((v.get(`ctxvis/${contextHex}`) as Visibility | undefined) === 'restricted') return v.get(`allow/${contextHex}/${pk}`) === true
  return v.get(`joined/${contextHex}/${pk}`) === true || (v.caps(pk) & Capability.JoinOpenContexts) !== 0
}

/** May `pk` read scope (GROUP_SCOPE or a context id in hex)? */
export function mayRead(v: AccessView, pk: string, scope: string): boolean {
  return scope === GROUP_SCOPE ? mayReadGroup(v, pk) : mayReadContext(v, pk, scope)
}

/** The members of the group (hex), in this view. */
export function membersOf(v: AccessView): string[] {
  const out: string[] = []
  for (const slot of v.names('member/')) {
    const pk = slot.slice('member/'.length)
    if (v.role(pk)) out.push(pk)
  }
  const owner = v.get('owner') as string | undefined
  if (owner && v.get('deleted') !== true && !out.includes(owner)) out.push(owner)
  return out.sort()
}

/** The registered contexts (hex), in this view. */
export function contextsOf(v: AccessView): string[] {
  return v
    .names('ctx/')
    .map((s) => s.slice('ctx/'.length))
    .filter((c) => v.context(c)?.registered)
    .sort()
}

/**
 * Who holds a scope's key as things stand, so who gets the next one: every member for the group;
 * for a context, the members joined to it that may read it (others who may read it fetch the key
 * when they join).
 */
export function keyHolders(v: AccessView, scope: string): string[] {
  if (v.get('deleted') === true) return []
  const members = membersOf(v)
  if (scope === GROUP_SCOPE) return members
  return members.filter((m) => v.get(`joined/${scope}/${m}`) === true && mayReadContext(v, m, scope))
}

/**
 * The identities and scopes an op's writes can change reading of: an identity whose member,
 * capability or owner slot changes, for every scope; one joined to or allowlisted on a context,
 * for it; every member, for a context whose visibility or registration changes. 'all' when the
 * group itself changes (deleted).
 */
export function touchedBy(writes: readonly (readonly [string, unknown])[]): { identities: Map<string, Set<string> | 'all'>; everyoneOn: Set<string> } | 'all' | undefined {
  const identities = new Map<string, Set<string> | 'all'>()
  const everyoneOn = new Set<string>()
  const add = (pk: string, scope: string | 'all') => {
    const cur = identities.get(pk)
    if (cur === 'all') return
    if (scope === 'all') identities.set(pk, 'all')
    else if (cur) cur.add(scope)
    else identities.set(pk, new Set([scope]))
  }
  for (const [slot] of writes) {
    const parts = slot.split('/')
    switch (parts[0]) {
      case 'deleted':
        return 'all'
      case 'member':
      case 'caps':
        add(parts[1]!, 'all')
        break
      case 'allow':
      case 'joined':
        add(parts[2]!, parts[1]!)
        break
      case 'ctxvis':
      case 'ctx':
        everyoneOn.add(parts[1]!)
        break
    }
  }
  return identities.size || everyoneOn.size ? { identities, everyoneOn } : undefined
}

/**
 * What an op takes away: per scope, the identities that may read it before (`before`, the op's
 * cut) and not after (`after`, the cut with the op's writes), for the scopes someone may still
 * read afterwards (a scope nobody reads any more needs no new key).
 */
export function lostReading(before: AccessView, after: AccessView, writes: readonly (readonly [string, unknown])[]): Map<string, string[]> {
  const lost = new Map<string, string[]>()
  const touched = touchedBy(writes)
  if (!touched) return lost
  const scopes = [GROUP_SCOPE, ...contextsOf(before)]
  const check = (pk: string, scope: string) => {
    if (mayRead(before, pk, scope) && !mayRead(after, pk, scope)) {
      const list = lost.get(scope)
      if (list) {
        if (!list.includes(pk)) list.push(pk)
      } else lost.set(scope, [pk])
    }
  }
  if (touched === 'all') return lost // a deleted group: nobody reads anything any more
  for (const [pk, which] of touched.identities) for (const scope of which === 'all' ? scopes : [...which]) check(pk, scope)
  if (touched.everyoneOn.size) {
    const members = membersOf(before)
    for (const scope of touched.everyoneOn) if (scopes.includes(scope)) for (const pk of members) check(pk, scope)
  }
  for (const scope of [...lost.keys()]) if (keyHolders(after, scope).length === 0 && !membersOf(after).some((m) => mayRead(after, m, scope))) lost.delete(scope)
  return lost
}
