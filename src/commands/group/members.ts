import { MeroCommand } from '../../client/base-command.js'
import { groupArg } from '../../client/flags.js'
import { renderMembers } from '../../client/views/group.js'

export default class GroupMembers extends MeroCommand<typeof GroupMembers> {
  static override summary = "List a group's members with their roles and capabilities"
  static override args = { group: groupArg }

  async run() {
    const r = await this.call('group.members', { group: this.args.group })
    this.out(renderMembers(r.members, r.owner))
    return r
  }
}
