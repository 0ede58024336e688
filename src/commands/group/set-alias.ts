import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { groupArg } from '../../client/flags.js'

export default class GroupSetAlias extends MeroCommand<typeof GroupSetAlias> {
  static override summary = "Set the group's alias, replicated to every member (admins)"
  static override examples = ['<%= config.bin %> group set-alias 3f2a…c9 team']
  static override args = { group: groupArg, alias: Args.string({ description: "the alias: 1-50 of A-Z a-z 0-9 . _ -, not . or ..", required: true }) }

  async run() {
    const r = await this.call('group.setAlias', { group: this.args.group, alias: this.args.alias })
    this.out(`Group ${r.groupId} is now '${r.alias}'`)
    return r
  }
}
