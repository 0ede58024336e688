import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { formatTime, table } from '../../client/render.js'

export default class InvitationList extends MeroCommand<typeof InvitationList> {
  static override summary = 'List the invitations this node issued, with their state'
  static override examples = ['<%= config.bin %> invitation list', '<%= config.bin %> invitation list -q']
  static override flags = listFlags

  async run() {
    const r = await this.call('group.listInvitations')
    const id = this.shown
    this.show(() => table(['invitation', 'group', 'role', 'expires', 'uses', 'left', 'state'], r.invitations.map((i) => [id(i.invitationId), id(i.groupId), i.role, formatTime(i.expiresAt), i.maxUses === null ? String(i.uses) : `${i.uses}/${i.maxUses}`, i.remaining === null ? 'any' : String(i.remaining), i.state]), { empty: 'no invitations issued by this node', ...this.tableOptions }), r.invitations.map((i) => i.invitationId))
    return r
  }
}
