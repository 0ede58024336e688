import type { Hook } from '@oclif/core'
import { ERROR_KINDS } from '../core/primitives/errors.js'
import { closeTo, nearest } from '../core/primitives/suggest.js'

/**
 * `meroctl grup list`: names the command that was meant ("did you mean 'group list'?") and exits
 * 2, a usage error; under --json the error is the JSON document on stdout, as for every other
 * error. Loaded only when a command is not found (meroctl's start-up does not pay for it).
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  const words = [...opts.id.split(':'), ...(opts.argv ?? []).filter((a) => !a.startsWith('-'))]
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
  // compare what was typed with each command over as many words as the command has
  const byTyped = new Map<string, string[]>()
  for (const id of ids) {
    const typed = words.slice(0, id.split(' ').length).join(' ')
    const list = byTyped.get(typed) ?? []
    list.push(id)
    byTyped.set(typed, list)
  }
  const suggestions = nearest([...byTyped].flatMap(([typed, candidates]) => closeTo(typed, candidates)))
  const typed = opts.id.replaceAll(':', ' ')
  const hint = suggestions.length ? ` Did you mean ${suggestions.map((s) => `'${s}'`).join(' or ')}?` : ''
  const message = `'${typed}' is not a ${opts.config.bin} command.${hint} \`${opts.config.bin} --help\` lists the commands`
  if ((opts.argv ?? []).includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: { kind: 'CommandNotFound', code: ERROR_KINDS.CommandNotFound, message, ...(suggestions.length ? { data: { suggestions } } : {}) } }, null, 2)}\n`)
  } else {
    process.stderr.write(`${opts.config.bin}: ${message}\n`)
  }
  this.exit(2)
}

export default hook
