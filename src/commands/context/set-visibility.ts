import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { contextArg } from '../../client/flags.js'

export default class ContextSetVisibility extends MeroCommand<typeof ContextSetVisibility> {
  static override summary = 'Open a context to every member with the join capability, or restrict it to its allowlist'
  static override examples = ['<%= config.bin %> context set-visibility notes restricted']
  static override args = { context: contextArg, visibility: Args.string({ options: ['open', 'restricted'], required: true, description: 'open or restricted' }) }

  async run() {
    const r = await this.call<{ contextId: string; visibility: string }>('context.setVisibility', { context: this.args.context, visibility: this.args.visibility })
    this.out(`Context ${r.contextId} is now ${r.visibility}`)
    return r
  }
}
