import { MeroCommand } from '../../client/base-command.js'
import { groupArg, listFlags } from '../../client/flags.js'
import { renderGroup } from '../../client/views/group.js'

export default class GroupGet extends MeroCommand<typeof GroupGet> {
  static override summary = "Show a group: owner, state hash, heads, members, settings"
  static override examples = ['<%= config.bin %> group get team', '<%= config.bin %> group get team --wide', '<%= config.bin %> group get team -q']
  static override args = { group: groupArg }
  static override flags = listFlags

  async run() {
    const g = await this.call('group.get', { group: this.args.group })
    this.show(() => renderGroup(g, this.shown, this.tableOptions), g.groupId)
    return g
  }
}
