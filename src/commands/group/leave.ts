import { MeroCommand } from '../../client/base-command.js'
import { groupArg, yesFlag } from '../../client/flags.js'

export default class GroupLeave extends MeroCommand<typeof GroupLeave> {
  static override summary = 'Leave a group (the owner cannot: transfer ownership first)'
  static override examples = ['<%= config.bin %> group leave team --yes']
  static override args = { group: groupArg }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirmAfter(() => this.call('group.get', { group: this.args.group }), (g) => `Leave group ${g.groupId}?`, this.flags.yes)
    const r = await this.call('group.leave', { group: this.args.group })
    this.out(`Left group ${r.groupId}`)
    return r
  }
}
