import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { renderContexts } from '../../client/views/context.js'

export default class ContextList extends MeroCommand<typeof ContextList> {
  static override summary = 'List the contexts this node holds'
  static override flags = { group: Flags.string({ char: 'g', description: 'only the contexts of this group (id or alias)' }) }

  async run() {
    const r = await this.call('context.list', { group: this.flags.group })
    this.out(renderContexts(r.contexts))
    return r
  }
}
