import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { defaultNodeName, useNode } from '../../client/node-names.js'

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
    useNode(home, name)
    const overridden = process.env.MERO_NODE && process.env.MERO_NODE !== name
    this.out(`Commands without --node now use node '${name}'${overridden ? ` (but $MERO_NODE=${process.env.MERO_NODE} is set in this shell and wins)` : ''}`)
    return { home, node: name }
  }
}
