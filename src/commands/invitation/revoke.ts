import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { yesFlag } from '../../client/flags.js'
import { MeroError } from '../../core/primitives/errors.js'

export default class InvitationRevoke extends MeroCommand<typeof InvitationRevoke> {
  static override summary = 'Revoke an invitation (by token or id): later claims are rejected by every member'
  static override examples = ['<%= config.bin %> invitation revoke 9c1e…04 --yes', '<%= config.bin %> invitation revoke "$TOKEN" --yes']
  static override args = { invitation: Args.string({ description: 'the token, or the invitation id', required: true }) }
  static override flags = { yes: yesFlag }

  async run() {
    const ref = this.args.invitation
    await this.confirmAfter(
      async () => {
        if (!/^[0-9a-f]{64}$/i.test(ref)) return this.call('group.inspectInvitation', { token: ref })
        const { invitations } = await this.call('group.listInvitations')
        const found = invitations.find((i) => i.invitationId === ref.toLowerCase())
        if (!found) throw new MeroError('NotFound', `this node issued no invitation ${ref}; pass the token instead (\`meroctl invitation list\` lists those it issued)`)
        return found
      },
      (i) => `Revoke invitation ${i.invitationId} into group ${i.groupId}?`,
      this.flags.yes,
    )
    const r = await this.call('group.revokeInvitation', { invitation: this.args.invitation })
    this.out(`Revoked invitation ${r.invitationId}`)
    return r
  }
}
