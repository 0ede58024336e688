import { z } from 'zod'
import { ALIAS_KINDS } from '../core/aliases/alias-store.js'
import { ALIAS_PATTERN, ALIAS_RULE, isBase58Id32, isHex32 } from '../core/primitives/ids.js'

/** Parameter schemas shared by the handler modules. */
export const base58Id = (what: string) => z.string().refine(isBase58Id32, { message: `expected a ${what}: 32 bytes in base58` })
export const hexId = (what: string) => z.string().refine(isHex32, { message: `expected a ${what}: 64 hex characters` })
export const aliasName = z.string().regex(ALIAS_PATTERN, { message: `expected an alias: ${ALIAS_RULE}` })
export const aliasKind = z.enum(ALIAS_KINDS)
/** An id or an alias of the given kind, resolved by the handler. */
export const idOrAlias = (what: string) => z.string().min(1, { message: `expected a ${what} id or alias` }).max(128)
