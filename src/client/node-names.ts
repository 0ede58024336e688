import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { MeroError } from '../core/primitives/errors.js'
import { didYouMean, suggest } from '../core/primitives/suggest.js'
import { defaultNodeFile, defaultNodeName } from '../home/paths.js'

export { defaultNodeName }

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

/** Makes an initialised node the home's default (`meroctl node use`): written to <home>/default-node. */
export function useNode(home: string, name: string): void {
  const nodes = nodeNames(home)
  if (!nodes.includes(name)) {
    throw new MeroError('NodeNotInitialized', `there is no node '${name}' in ${home}.${didYouMean(name, nodes)} \`meroctl node list\` lists the nodes; \`meroctl node init --node ${name}\` creates it`, { suggestions: suggest(name, nodes) })
  }
  writeFileSync(defaultNodeFile(home), `${name}\n`)
}
