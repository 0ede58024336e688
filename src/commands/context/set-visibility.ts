import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import type { Visibility } from '../../api/methods.js'
import { contextArg } from '../../client/flags.js'

export default class ContextSetVisibility extends MeroCommand<typeof ContextSetVisibility> {
  static override summary = 'Open a context to every member with the join capability, or restrict it to its allowlist'
  static override examples = ['<%= config.bin %> context set-visibility notes restricted']
  static override args = { context: contextArg, visibility: Args.string({ options: ['open', 'restricted'], required: true, description: 'open or restricted' }) }

  async run() {
    const r = await this.call('context.setVisibility', { context: this.args.context, visibility: this.args.visibility as Visibility })
    this.out(`Context ${r.contextId} is now ${r.visibility}`)
    return r
  }
}
