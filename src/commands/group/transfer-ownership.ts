import { MeroCommand } from '../../client/base-command.js'
import { groupArg, identityArg, yesFlag } from '../../client/flags.js'

export default class GroupTransferOwnership extends MeroCommand<typeof GroupTransferOwnership> {
  static override summary = 'Make another admin the owner of the group (owner only)'
  static override examples = ['<%= config.bin %> group transfer-ownership team 5Hd…x9 --yes']
  static override args = { group: groupArg, identity: identityArg }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirmAfter(
      () => this.call('group.getCapabilities', { group: this.args.group, identity: this.args.identity }),
      (m) => `Transfer ownership of group ${m.groupId} to ${m.identity}?`,
      this.flags.yes,
    )
    const r = await this.call('group.transferOwnership', { group: this.args.group, identity: this.args.identity })
    this.out(`${r.owner} now owns ${r.groupId}`)
    return r
  }
}
