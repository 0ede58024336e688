import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { renderApplication } from '../../client/views/context.js'

export default class AppGet extends MeroCommand<typeof AppGet> {
  static override summary = 'Show an application: size, source, methods from its ABI'
  static override args = { app: Args.string({ description: 'application id or alias', required: true }) }

  async run() {
    const a = await this.call('app.get', { application: this.args.app })
    this.out(renderApplication(a))
    return a
  }
}
