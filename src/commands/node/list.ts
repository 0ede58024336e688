import { MeroCommand } from '../../client/base-command.js'
import { listNodes } from '../../client/daemon-manager.js'
import { listFlags } from '../../client/flags.js'
import { style, table } from '../../client/render.js'

export default class NodeList extends MeroCommand<typeof NodeList> {
  static override summary = 'List the nodes of the home and whether each is running'
  static override examples = ['<%= config.bin %> node list', '<%= config.bin %> node list --home /tmp/mero --json', '<%= config.bin %> node list -q']
  static override flags = listFlags

  async run() {
    const nodes = await listNodes(this.flags.home)
    this.show(
      () =>
        table(
          ['node', 'state', 'pid', 'identity', 'listen'],
          nodes.map((n) => [n.default ? `${n.node} (default)` : n.node, n.running ? style.green('running') : style.dim('stopped'), n.pid, n.identity ? this.shown(n.identity) : undefined, n.listen?.join(' ')]),
          { empty: `no nodes in ${this.manager.home.home}; create one with \`meroctl node init\``, ...this.tableOptions },
        ),
      nodes.map((n) => n.node),
    )
    return { home: this.manager.home.home, nodes }
  }
}
