import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { yesFlag } from '../../client/flags.js'

export default class InvitationRevoke extends MeroCommand<typeof InvitationRevoke> {
  static override summary = 'Revoke an invitation (by token or id): later claims are rejected by every member'
  static override examples = ['<%= config.bin %> invitation revoke 9c1e…04 --yes', '<%= config.bin %> invitation revoke "$TOKEN" --yes']
  static override args = { invitation: Args.string({ description: 'the token, or the invitation id', required: true }) }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirm(`Revoke invitation ${this.args.invitation.slice(0, 24)}…?`, this.flags.yes)
    const r = await this.call<{ invitationId: string; groupId: string; opId: string }>('group.revokeInvitation', { invitation: this.args.invitation })
    this.out(`Revoked invitation ${r.invitationId}`)
    return r
  }
}
