import { MeroCommand } from '../../client/base-command.js'
import { groupArg, yesFlag } from '../../client/flags.js'

export default class GroupLeave extends MeroCommand<typeof GroupLeave> {
  static override summary = 'Leave a group (the owner cannot: transfer ownership first)'
  static override description = "Once the other members apply the leave, one of them starts a new key epoch for the group and the contexts this identity could read, so nothing written after it is readable by this node's identity. What it cannot: what this node read before stays on it."
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
