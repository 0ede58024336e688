import { Args } from '@oclif/core'
import { writeFileSync } from 'node:fs'
import { MeroCommand } from '../../client/base-command.js'
import { nodeNames } from '../../client/node-names.js'
import { MeroError } from '../../core/primitives/errors.js'
import { didYouMean, suggest } from '../../core/primitives/suggest.js'
import { defaultNodeFile, defaultNodeName } from '../../home/paths.js'

export default class NodeUse extends MeroCommand<typeof NodeUse> {
  static override summary = 'Make a node the default: commands without --node use it'
  static override description = 'Written to <home>/default-node. $MERO_NODE and --node still choose another. Without a name, shows the default.'
  static override examples = ['<%= config.bin %> node use alice', '<%= config.bin %> node use']
  static override args = { name: Args.string({ description: 'the node to use by default', ignoreStdin: true }) }

  async run() {
    const home = this.manager.home.home
    const name = this.args.name
    if (!name) {
      const current = defaultNodeName(home)
      this.out(current)
      return { home, node: current }
    }
    const nodes = nodeNames(home)
    if (!nodes.includes(name)) {
      throw new MeroError('NodeNotInitialized', `there is no node '${name}' in ${home}.${didYouMean(name, nodes)} \`meroctl node list\` lists the nodes; \`meroctl node init --node ${name}\` creates it`, { suggestions: suggest(name, nodes) })
    }
    writeFileSync(defaultNodeFile(home), `${name}\n`)
    const overridden = process.env.MERO_NODE && process.env.MERO_NODE !== name
    this.out(`Commands without --node now use node '${name}'${overridden ? ` (but $MERO_NODE=${process.env.MERO_NODE} is set in this shell and wins)` : ''}`)
    return { home, node: name }
  }
}
