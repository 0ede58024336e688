import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { contextArg } from '../../client/flags.js'
import { renderContext } from '../../client/views/context.js'

export default class ContextUpdate extends MeroCommand<typeof ContextUpdate> {
  static override summary = 'Move a context to another application; its state is kept'
  static override examples = ['<%= config.bin %> context update notes --app kv-v2']
  static override args = { context: contextArg }
  static override flags = { app: Flags.string({ char: 'a', description: 'application id or alias', required: true }) }

  async run() {
    const c = await this.call('context.updateApplication', { context: this.args.context, application: this.flags.app })
    this.out(`Updated\n${renderContext(c)}`)
    return c
  }
}
