import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { quietFlag } from '../../client/flags.js'
import { keyValue } from '../../client/render.js'

export default class GroupCreate extends MeroCommand<typeof GroupCreate> {
  static override summary = 'Create a group, owned by this node\'s identity'
  static override examples = ['<%= config.bin %> group create --alias team', 'GROUP=$(<%= config.bin %> group create -q)']
  static override flags = {
    alias: Flags.string({ description: 'a node-local alias for the new group' }),
    application: Flags.string({ description: "the group's target application (id or alias)" }),
    quiet: quietFlag,
  }

  async run() {
    const r = await this.call('group.create', { alias: this.flags.alias, application: this.flags.application })
    this.show(() => keyValue([['group', r.groupId], ['owner', r.owner], ['alias', this.flags.alias]]), r.groupId)
    return r
  }
}
