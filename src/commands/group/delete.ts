import { MeroCommand } from '../../client/base-command.js'
import { groupArg, yesFlag } from '../../client/flags.js'

export default class GroupDelete extends MeroCommand<typeof GroupDelete> {
  static override summary = 'Delete a group and its contexts (owner only)'
  static override examples = ['<%= config.bin %> group delete team', '<%= config.bin %> group delete team --yes --json']
  static override args = { group: groupArg }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirmAfter(
      () => this.call('group.get', { group: this.args.group }),
      (g) => `Delete group ${g.groupId}${g.alias ?? g.localAlias ? ` (${g.alias ?? g.localAlias})` : ''} and its ${g.contexts?.length ?? 0} context(s), for every member?`,
      this.flags.yes,
    )
    const r = await this.call('group.delete', { group: this.args.group })
    this.out(`Deleted group ${r.groupId}`)
    return r
  }
}
