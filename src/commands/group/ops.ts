import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { groupArg, listFlags } from '../../client/flags.js'
import { renderOps } from '../../client/views/group.js'

export default class GroupOps extends MeroCommand<typeof GroupOps> {
  static override summary = "Show a group's governance op log: applied, rejected (and why) or pending"
  static override examples = ['<%= config.bin %> group ops team -n 20', '<%= config.bin %> group ops team --json']
  static override args = { group: groupArg }
  static override flags = { ...listFlags, limit: Flags.integer({ char: 'n', description: 'show at most this many, newest last', min: 1 }) }

  async run() {
    const r = await this.call('group.ops', { group: this.args.group, limit: this.flags.limit })
    this.show(() => renderOps(r.ops, this.shown, this.tableOptions), r.ops.map((o) => o.opId))
    return r
  }
}
