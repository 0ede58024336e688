import { MeroCommand } from '../../client/base-command.js'
import { groupArg, yesFlag } from '../../client/flags.js'

export default class GroupDelete extends MeroCommand<typeof GroupDelete> {
  static override summary = 'Delete a group and its contexts (owner only)'
  static override examples = ['<%= config.bin %> group delete team', '<%= config.bin %> group delete team --yes --json']
  static override args = { group: groupArg }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirm(`Delete group ${this.args.group} and every context in it, for every member?`, this.flags.yes)
    const r = await this.call<{ groupId: string; opId: string }>('group.delete', { group: this.args.group })
    this.out(`Deleted group ${r.groupId}`)
    return r
  }
}
