import { MeroError } from '../core/primitives/errors.js'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../core/primitives/json-depth.js'

/** A JSON flag value, parsed, with an error that names the flag. */
export function parseJsonFlag(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new MeroError('InvalidInput', `${flag} is not valid JSON: ${(e as Error).message}`)
  }
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) throw new MeroError('InvalidInput', `${flag} nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`)
  return value
}
