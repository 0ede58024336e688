import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { formatTime, keyValue, style } from '../../client/render.js'

export default class InvitationInspect extends MeroCommand<typeof InvitationInspect> {
  static override summary = 'Decode an invitation token, check its signature and expiry'
  static override examples = ['<%= config.bin %> invitation inspect "$TOKEN"', '<%= config.bin %> invitation inspect "$TOKEN" --json']
  static override args = { token: Args.string({ description: 'the invitation token', required: true }) }

  async run() {
    const r = await this.call('group.inspectInvitation', { token: this.args.token })
    this.out(
      keyValue([
        ['invitation', r.invitationId],
        ['group', r.groupId],
        ['inviter', r.inviter],
        ['role', r.role],
        ['expires', `${formatTime(r.expiresAt)}${r.expired ? ` ${style.red('(expired)')}` : ''}`],
        ['signature', r.signatureValid ? style.green('valid') : style.red('INVALID')],
        ...(r.revoked !== undefined ? ([['revoked', r.revoked ? 'yes' : 'no']] as [string, string][]) : []),
        ['inviter peer', r.peerId],
        ['addresses', r.addresses ?? []],
      ]),
    )
    return r
  }
}
