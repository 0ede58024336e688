import { MeroCommand } from '../../client/base-command.js'
import { contextArg, yesFlag } from '../../client/flags.js'

export default class ContextDelete extends MeroCommand<typeof ContextDelete> {
  static override summary = "Delete a context's local state from this node"
  static override examples = ['<%= config.bin %> context delete notes', '<%= config.bin %> context delete notes --yes --json']
  static override args = { context: contextArg }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirmAfter(() => this.call('context.get', { context: this.args.context }), (c) => `Delete context ${c.contextId}${c.alias ? ` (${c.alias})` : ''} and its state on this node?`, this.flags.yes)
    const r = await this.call('context.delete', { context: this.args.context })
    this.out(`Deleted context ${r.contextId}`)
    return r
  }
}
