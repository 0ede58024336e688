import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { quietFlag } from '../../client/flags.js'
import { renderApplication } from '../../client/views/context.js'

export default class AppGet extends MeroCommand<typeof AppGet> {
  static override summary = 'Show an application: kind (package or development), version and signer, size, source, methods from its ABI'
  static override examples = ['<%= config.bin %> app get kv', '<%= config.bin %> app get kv --json']
  static override args = { app: Args.string({ description: 'application id or alias', required: true }) }
  static override flags = { quiet: quietFlag }

  async run() {
    const a = await this.call('app.get', { application: this.args.app })
    this.show(() => renderApplication(a), a.applicationId)
    return a
  }
}
