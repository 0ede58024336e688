import { MeroError } from '../core/primitives/errors.js'

/** A JSON flag value, parsed, with an error that names the flag. */
export function parseJsonFlag(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new MeroError('InvalidInput', `${flag} is not valid JSON: ${(e as Error).message}`)
  }
}
