import { MeroCommand } from '../../client/base-command.js'
import { contextArg } from '../../client/flags.js'
import { renderContext } from '../../client/views/context.js'

export default class ContextGet extends MeroCommand<typeof ContextGet> {
  static override summary = 'Show a context: group, application, root hash, heads, visibility, sync status'
  static override args = { context: contextArg }

  async run() {
    const c = await this.call('context.get', { context: this.args.context })
    this.out(renderContext(c))
    return c
  }
}
