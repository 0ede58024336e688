import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { groupArg } from '../../client/flags.js'

export default class GroupUpgrade extends MeroCommand<typeof GroupUpgrade> {
  static override summary = 'Move every context of the group to another application (each on its next execution)'
  static override examples = ['<%= config.bin %> group upgrade team --app kv-v2']
  static override args = { group: groupArg }
  static override flags = { app: Flags.string({ char: 'a', description: 'the target application id or alias', required: true }) }

  async run() {
    const r = await this.call('group.upgrade', { group: this.args.group, application: this.flags.app })
    this.out(`Group ${r.groupId} now targets ${r.targetApplication}; ${r.contexts} context(s) move on their next execution`)
    return r
  }
}
