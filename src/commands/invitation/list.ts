import { MeroCommand } from '../../client/base-command.js'
import { formatTime, shortId, table } from '../../client/render.js'

interface InvitationRow {
  invitationId: string
  groupId: string
  role: string
  expiresAt: number
  state: string
}

export default class InvitationList extends MeroCommand<typeof InvitationList> {
  static override summary = 'List the invitations this node issued, with their state'

  async run() {
    const r = await this.call<{ invitations: InvitationRow[] }>('group.listInvitations')
    this.out(table(['invitation', 'group', 'role', 'expires', 'state'], r.invitations.map((i) => [shortId(i.invitationId), shortId(i.groupId), i.role, formatTime(i.expiresAt), i.state]), { empty: 'no invitations issued by this node' }))
    return r
  }
}
