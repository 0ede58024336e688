import { MeroCommand } from '../../client/base-command.js'
import { formatTime, shortId, table } from '../../client/render.js'

export default class InvitationList extends MeroCommand<typeof InvitationList> {
  static override summary = 'List the invitations this node issued, with their state'

  async run() {
    const r = await this.call('group.listInvitations')
    this.out(table(['invitation', 'group', 'role', 'expires', 'uses', 'left', 'state'], r.invitations.map((i) => [shortId(i.invitationId, 12), shortId(i.groupId, 12), i.role, formatTime(i.expiresAt), i.maxUses === null ? String(i.uses) : `${i.uses}/${i.maxUses}`, i.remaining === null ? 'any' : String(i.remaining), i.state]), { empty: 'no invitations issued by this node' }))
    return r
  }
}
