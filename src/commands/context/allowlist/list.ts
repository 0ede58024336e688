import { MeroCommand } from '../../../client/base-command.js'
import { contextArg, listFlags } from '../../../client/flags.js'
import { table } from '../../../client/render.js'

export default class ContextAllowlistList extends MeroCommand<typeof ContextAllowlistList> {
  static override summary = "List a context's allowlist"
  static override examples = ['<%= config.bin %> context allowlist list notes']
  static override args = { context: contextArg }
  static override flags = listFlags

  async run() {
    const r = await this.call('context.allowlist', { context: this.args.context })
    this.show(() => table(['identity'], r.allowlist.map((i) => [this.shown(i)]), { empty: `the allowlist is empty (the context is ${r.visibility})`, ...this.tableOptions }), r.allowlist)
    return r
  }
}
