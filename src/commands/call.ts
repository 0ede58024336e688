import { Args, Flags } from '@oclif/core'
import { MeroCommand } from '../client/base-command.js'
import { parseJsonFlag } from '../client/json-args.js'
import { style } from '../client/render.js'
import { renderEvents, renderValue } from '../client/views/context.js'

export default class Call extends MeroCommand<typeof Call> {
  static override summary = "Call a method of a context's application"
  static override description = 'Prints the result readably, then the events the call emitted. --json prints {result, events, rootHash}.'
  static override examples = [`<%= config.bin %> call notes set --args '{"key":"a","value":"1"}'`, '<%= config.bin %> call notes entries --json']
  static override args = {
    context: Args.string({ description: 'context id or alias', required: true }),
    method: Args.string({ description: 'the method to call', required: true }),
  }
  static override flags = { args: Flags.string({ description: 'JSON object of named arguments', default: '{}' }) }

  async run() {
    const args = parseJsonFlag(this.flags.args, '--args')
    const r = await this.call('context.execute', { context: this.args.context, method: this.args.method, args })
    if (!this.jsonEnabled()) {
      this.log(renderValue(r.result))
      if (r.events.length) this.log(style.dim(renderEvents(r.events)))
    }
    return r
  }
}
