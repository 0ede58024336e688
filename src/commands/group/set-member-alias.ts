import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { groupArg, identityArg } from '../../client/flags.js'

export default class GroupSetMemberAlias extends MeroCommand<typeof GroupSetMemberAlias> {
  static override summary = "Set a member's alias, replicated to every member (admins, or the member itself)"
  static override examples = ['<%= config.bin %> group set-member-alias team 5Hd…x9 bob']
  static override args = { group: groupArg, identity: identityArg, alias: Args.string({ description: "the alias: 1-50 of A-Z a-z 0-9 . _ -, not . or ..", required: true }) }

  async run() {
    const r = await this.call('group.setMemberAlias', { group: this.args.group, identity: this.args.identity, alias: this.args.alias })
    this.out(`${r.identity} is now '${r.alias}' in ${r.groupId}`)
    return r
  }
}
