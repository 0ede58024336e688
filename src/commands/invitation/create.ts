import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { groupArg, quietFlag } from '../../client/flags.js'
import { formatTime, keyValue } from '../../client/render.js'
import type { Role } from '../../api/methods.js'
import { parseDuration } from '../../client/duration.js'

export default class InvitationCreate extends MeroCommand<typeof InvitationCreate> {
  static override summary = 'Create a signed invitation into a group: one pasteable token'
  static override description =
    'The token admits --max-uses identities (1 by default) until it expires or is revoked; the claims past its uses are refused by the inviter and by every member, and an inviter that loses the right to invite stops admitting anyone with it. Anyone holding the token can use it: send it privately.'
  static override examples = ['<%= config.bin %> invitation create team --expires-in 2d', '<%= config.bin %> invitation create team --context notes --role member', '<%= config.bin %> invitation create team --max-uses 5', 'TOKEN=$(<%= config.bin %> invitation create team -q)']
  static override args = { group: groupArg }
  static override flags = {
    role: Flags.string({ description: 'role the joiner gets', options: ['admin', 'member', 'read-only'], default: 'member' }),
    'expires-in': Flags.string({ description: 'validity: a number with s, m, h, d or w', default: '7d' }),
    context: Flags.string({ description: 'also admit the joiner to this context of the group (id or alias)' }),
    'max-uses': Flags.integer({ description: 'how many identities the token admits; a claim past them is refused by every node', default: 1, min: 1, max: 1_000_000 }),
    quiet: quietFlag,
  }

  async run() {
    const expiresInSecs = parseDuration(this.flags['expires-in'])
    const r = await this.call('group.createInvitation', { group: this.args.group, role: this.flags.role as Role, expiresInSecs, maxUses: this.flags['max-uses'], ...(this.flags.context ? { context: this.flags.context } : {}) })
    if (!this.jsonEnabled()) {
      this.log(r.token)
      if (!this.flags.quiet) process.stderr.write(keyValue([['invitation', r.invitationId], ['group', r.groupId], ['role', r.role], ['uses', String(r.maxUses)], ['context', r.contextId], ['expires', formatTime(r.expiresAt)]]) + '\n')
    }
    return r
  }
}
