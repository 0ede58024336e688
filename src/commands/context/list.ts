import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { renderContexts } from '../../client/views/context.js'

export default class ContextList extends MeroCommand<typeof ContextList> {
  static override summary = 'List the contexts this node holds'
  static override examples = ['<%= config.bin %> context list', '<%= config.bin %> context list --group team -q']
  static override flags = { ...listFlags, group: Flags.string({ char: 'g', description: 'only the contexts of this group (id or alias)' }) }

  async run() {
    const r = await this.call('context.list', { group: this.flags.group })
    this.show(() => renderContexts(r.contexts, this.shown, this.tableOptions), r.contexts.map((c) => c.contextId))
    return r
  }
}
