import { MeroError } from '../core/primitives/errors.js'
import { didYouMean, suggest } from '../core/primitives/suggest.js'
import { ConfigSchema, defaultConfig, loadConfig, writeConfig, type Config } from './config.js'

/**
 * `merod config get|set` (and so `meroctl config`): reads and changes one key of a node's
 * config.toml, validated by the same schema the daemon starts with; the file is rewritten in its
 * documented form.
 */
type Section = Record<string, unknown>

/** Every key, as section.name. */
export function configKeys(): string[] {
  return Object.entries(defaultConfig()).flatMap(([section, values]) => Object.keys(values as Section).map((k) => `${section}.${k}`))
}

function split(key: string): [string, string] {
  const keys = configKeys()
  if (!keys.includes(key)) {
    throw new MeroError('InvalidInput', `'${key}' is not a config key.${didYouMean(key, keys)} The keys: ${keys.join(', ')}`, { suggestions: suggest(key, keys) })
  }
  const [section, name] = key.split('.') as [string, string]
  return [section, name]
}

export function getConfig(path: string, key?: string): Record<string, unknown> {
  const config = loadConfig(path) as unknown as Record<string, Section>
  if (key === undefined) return Object.fromEntries(configKeys().map((k) => [k, config[k.split('.')[0]!]![k.split('.')[1]!]]))
  const [section, name] = split(key)
  return { [key]: config[section]![name] }
}

/** A value as typed on the command line: JSON (numbers, true/false, ["a","b"], "text") or bare text; a list key takes one bare item too. */
function parseValue(text: string, current: unknown): unknown {
  let v: unknown = text
  try {
    v = JSON.parse(text)
  } catch {
    // bare text
  }
  if (Array.isArray(current) && !Array.isArray(v)) v = text === '' ? [] : text.split(',').map((s) => s.trim())
  return v
}

export function setConfig(path: string, key: string, text: string): { key: string; value: unknown; previous: unknown; changed: boolean } {
  const [section, name] = split(key)
  const config = loadConfig(path) as unknown as Record<string, Section>
  const previous = config[section]![name]
  const next = { ...config, [section]: { ...config[section], [name]: parseValue(text, previous) } }
  const result = ConfigSchema.safeParse(next)
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new MeroError('InvalidInput', `'${key}' = ${JSON.stringify(text)}: ${issue.message.replace(/^Invalid input: /, '')}`)
  }
  const value = (result.data as unknown as Record<string, Section>)[section]![name]
  const changed = JSON.stringify(value) !== JSON.stringify(previous)
  if (changed) writeConfig(path, result.data as Config)
  return { key, value, previous, changed }
}
