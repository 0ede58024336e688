import { MeroCommand } from '../../client/base-command.js'
import { contextArg, quietFlag } from '../../client/flags.js'
import { renderContext } from '../../client/views/context.js'

export default class ContextGet extends MeroCommand<typeof ContextGet> {
  static override summary = 'Show a context: group, application, root hash, heads, visibility, sync status'
  static override examples = ['<%= config.bin %> context get notes', 'CTX=$(<%= config.bin %> context get notes -q)']
  static override args = { context: contextArg }
  static override flags = { quiet: quietFlag }

  async run() {
    const c = await this.call('context.get', { context: this.args.context })
    this.show(() => renderContext(c), c.contextId)
    return c
  }
}
