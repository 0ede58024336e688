import { MeroCommand } from '../../client/base-command.js'
import { listNodes } from '../../client/daemon-manager.js'
import { shortId, style, table } from '../../client/render.js'

export default class NodeList extends MeroCommand<typeof NodeList> {
  static override summary = 'List the nodes of the home and whether each is running'
  static override examples = ['<%= config.bin %> node list', '<%= config.bin %> node list --home /tmp/mero --json']

  async run() {
    const nodes = await listNodes(this.flags.home)
    this.out(
      table(
        ['node', 'state', 'pid', 'identity', 'listen'],
        nodes.map((n) => [n.node, n.running ? style.green('running') : style.dim('stopped'), n.pid, n.identity ? shortId(n.identity) : undefined, n.listen?.join(' ')]),
        { empty: `no nodes in ${this.manager.home.home}; create one with \`meroctl node init\`` },
      ),
    )
    return { home: this.manager.home.home, nodes }
  }
}
