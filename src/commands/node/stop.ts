import { MeroCommand } from '../../client/base-command.js'

export default class NodeStop extends MeroCommand<typeof NodeStop> {
  static override summary = 'Stop the node daemon gracefully'
  static override examples = ['<%= config.bin %> node stop']

  async run() {
    const stopped = await this.manager.stop()
    this.out(stopped ? `Stopped node '${this.manager.home.node}'` : `Node '${this.manager.home.node}' was not running`)
    return { node: this.manager.home.node, stopped }
  }
}
