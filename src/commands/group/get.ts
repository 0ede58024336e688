import { MeroCommand } from '../../client/base-command.js'
import { groupArg } from '../../client/flags.js'
import { renderGroup } from '../../client/views/group.js'

export default class GroupGet extends MeroCommand<typeof GroupGet> {
  static override summary = "Show a group: owner, state hash, heads, members, settings"
  static override args = { group: groupArg }

  async run() {
    const g = await this.call('group.get', { group: this.args.group })
    this.out(renderGroup(g))
    return g
  }
}
