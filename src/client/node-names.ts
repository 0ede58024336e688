import { existsSync, readdirSync } from 'node:fs'

/** The names of the initialised nodes of a home (folders holding a config.toml). */
export function nodeNames(home: string): string[] {
  try {
    return readdirSync(home)
      .filter((n) => existsSync(`${home}/${n}/config.toml`))
      .sort()
  } catch {
    return []
  }
}
