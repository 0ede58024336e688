import { MeroCommand } from '../../client/base-command.js'
import { withSpinner } from '../../client/progress.js'
import { keyValue } from '../../client/render.js'

export default class NodeStart extends MeroCommand<typeof NodeStart> {
  static override summary = 'Start the node daemon in the background and wait until it is ready'
  static override examples = ['<%= config.bin %> node start', '<%= config.bin %> node start --node alice --json']

  async run() {
    const before = await this.manager.probe()
    const status = before ?? (await withSpinner('starting merod', !this.jsonEnabled(), () => this.manager.start()))
    this.out(`${before ? 'Already running' : 'Started'}: node '${status.nodeName}' (pid ${status.pid})\n` + keyValue([['identity', status.identity], ['peer id', status.peerId], ['socket', status.socket]]))
    return { ...status, alreadyRunning: Boolean(before) }
  }
}
