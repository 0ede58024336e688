import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { quietFlag } from '../../client/flags.js'
import { parseJsonFlag } from '../../client/json-args.js'
import { renderContext } from '../../client/views/context.js'

export default class ContextCreate extends MeroCommand<typeof ContextCreate> {
  static override summary = 'Create a context in a group, running an application (calls its init)'
  static override examples = ['<%= config.bin %> context create --group team --app kv --alias notes', 'CTX=$(<%= config.bin %> context create --group team --app kv -q)']
  static override flags = {
    group: Flags.string({ char: 'g', description: 'group id or alias', required: true }),
    app: Flags.string({ char: 'a', description: "application id or alias [default: the group's target application]" }),
    params: Flags.string({ description: 'JSON arguments for the application init method' }),
    alias: Flags.string({ description: 'a node-local alias for the context' }),
    quiet: quietFlag,
  }

  async run() {
    const params = parseJsonFlag(this.flags.params, '--params')
    const c = await this.call('context.create', { group: this.flags.group, application: this.flags.app, params, alias: this.flags.alias })
    this.show(() => `Created\n${renderContext(c)}`, c.contextId)
    return c
  }
}
