import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import type { Visibility } from '../../api/methods.js'
import { groupArg } from '../../client/flags.js'

export default class GroupSetDefaultVisibility extends MeroCommand<typeof GroupSetDefaultVisibility> {
  static override summary = 'Set the visibility new contexts of the group get'
  static override examples = ['<%= config.bin %> group set-default-visibility team restricted']
  static override args = { group: groupArg, visibility: Args.string({ description: 'open (any member with the join capability) or restricted (allowlist)', options: ['open', 'restricted'], required: true }) }

  async run() {
    const r = await this.call('group.setDefaultVisibility', { group: this.args.group, visibility: this.args.visibility as Visibility })
    this.out(`New contexts of ${r.groupId} will be ${r.visibility}`)
    return r
  }
}
