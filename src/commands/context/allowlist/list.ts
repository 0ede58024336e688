import { MeroCommand } from '../../../client/base-command.js'
import { contextArg } from '../../../client/flags.js'
import { table } from '../../../client/render.js'

export default class ContextAllowlistList extends MeroCommand<typeof ContextAllowlistList> {
  static override summary = "List a context's allowlist"
  static override args = { context: contextArg }

  async run() {
    const r = await this.call('context.allowlist', { context: this.args.context })
    this.out(table(['identity'], r.allowlist.map((i) => [i]), { empty: `the allowlist is empty (the context is ${r.visibility})` }))
    return r
  }
}
