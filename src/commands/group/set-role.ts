import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import type { Role } from '../../api/methods.js'
import { groupArg, identityArg } from '../../client/flags.js'

export default class GroupSetRole extends MeroCommand<typeof GroupSetRole> {
  static override summary = "Change a member's role"
  static override examples = ['<%= config.bin %> group set-role team 5Hd…x9 admin']
  static override args = { group: groupArg, identity: identityArg, role: Args.string({ description: 'the new role', options: ['admin', 'member', 'read-only'], required: true }) }

  async run() {
    const r = await this.call('group.updateMemberRole', { group: this.args.group, identity: this.args.identity, role: this.args.role as Role })
    this.out(`${r.identity} is now ${r.role} in ${r.groupId}`)
    return r
  }
}
