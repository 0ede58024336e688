import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { table } from '../../client/render.js'

export default class GroupList extends MeroCommand<typeof GroupList> {
  static override summary = 'List the groups this node knows'
  static override examples = ['<%= config.bin %> group list', '<%= config.bin %> group list -q', '<%= config.bin %> group list --wide']
  static override flags = listFlags

  async run() {
    const r = await this.call('group.list')
    const id = this.shown
    this.show(() => table(['group', 'alias', 'my role', 'members', 'contexts', 'state hash'], r.groups.map((g) => [id(g.groupId), g.alias, g.myRole, g.members, g.contexts, id(g.stateHash)]), { empty: 'no groups; create one with `meroctl group create`', ...this.tableOptions }), r.groups.map((g) => g.groupId))
    return r
  }
}
