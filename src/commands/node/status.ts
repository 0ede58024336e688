import { MeroCommand } from '../../client/base-command.js'
import { formatDuration, keyValue } from '../../client/render.js'

export default class NodeStatusCommand extends MeroCommand<typeof NodeStatusCommand> {
  static override summary = "Show the node's identity, peer id, version, socket and uptime"
  static override description = 'Starts the daemon when none answers, like every command that needs it; pass --no-start to only look.'
  static override examples = ['<%= config.bin %> node status', '<%= config.bin %> node status --json --no-start']

  async run() {
    const s = await this.call('node.status')
    this.out(
      keyValue([
        ['node', s.nodeName],
        ['identity', s.identity],
        ['peer id', s.peerId],
        ['version', s.version],
        ['pid', s.pid],
        ['uptime', formatDuration(s.uptimeMs)],
        ['socket', s.socket],
        ['home', s.home],
        ...(s.peers !== undefined ? ([['peers', s.peers]] as [string, number][]) : []),
        ...(s.listenAddresses ? ([['listening', s.listenAddresses]] as [string, string[]][]) : []),
      ]),
    )
    return s
  }
}
