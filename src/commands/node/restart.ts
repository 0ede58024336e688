import { MeroCommand } from '../../client/base-command.js'
import { withSpinner } from '../../client/progress.js'
import { keyValue } from '../../client/render.js'

export default class NodeRestart extends MeroCommand<typeof NodeRestart> {
  static override summary = 'Stop the node daemon (if running) and start it again'
  static override examples = ['<%= config.bin %> node restart']

  async run() {
    const { wasRunning, status } = await withSpinner('restarting merod', !this.jsonEnabled(), async () => ({ wasRunning: await this.manager.stop(), status: await this.manager.start() }))
    this.out(`Restarted node '${status.nodeName}' (pid ${status.pid})\n` + keyValue([['identity', status.identity], ['peer id', status.peerId], ['socket', status.socket]]))
    return { ...status, wasRunning }
  }
}
