import { MeroCommand } from '../../client/base-command.js'
import { shortId, table } from '../../client/render.js'

interface GroupRow {
  groupId: string
  alias?: string | null
  owner: string
  myRole?: string | null
  members: number
  contexts: number
  stateHash: string
}

export default class GroupList extends MeroCommand<typeof GroupList> {
  static override summary = 'List the groups this node knows'

  async run() {
    const r = await this.call<{ groups: GroupRow[] }>('group.list')
    this.out(table(['group', 'alias', 'my role', 'members', 'contexts', 'state hash'], r.groups.map((g) => [g.groupId, g.alias, g.myRole, g.members, g.contexts, shortId(g.stateHash)]), { empty: 'no groups; create one with `meroctl group create`' }))
    return r
  }
}
