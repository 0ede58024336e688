import { readFileSync } from 'node:fs'
import { MeroError } from '../core/primitives/errors.js'

/**
 * Text a command reads from a file, or from stdin when the path is '-' (so that secrets such as
 * invitation tokens stay out of shell history), trimmed; refused when empty or unreadable.
 */
export function readInput(path: string, what: string): string {
  let text: string
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8')
  } catch (e) {
    throw new MeroError('InvalidInput', `cannot read ${path === '-' ? 'stdin' : path}: ${(e as Error).message}`)
  }
  text = text.trim()
  if (!text) throw new MeroError('InvalidInput', `the ${what} is empty`)
  return text
}
