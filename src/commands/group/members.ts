import { MeroCommand } from '../../client/base-command.js'
import { groupArg, listFlags } from '../../client/flags.js'
import { renderMembers } from '../../client/views/group.js'

export default class GroupMembers extends MeroCommand<typeof GroupMembers> {
  static override summary = "List a group's members with their roles and capabilities"
  static override examples = ['<%= config.bin %> group members team', '<%= config.bin %> group members team -q']
  static override args = { group: groupArg }
  static override flags = listFlags

  async run() {
    const r = await this.call('group.members', { group: this.args.group })
    this.show(() => renderMembers(r.members, r.owner, this.shown, this.tableOptions), r.members.map((m) => m.identity))
    return r
  }
}
