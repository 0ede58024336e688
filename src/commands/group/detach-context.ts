import { MeroCommand } from '../../client/base-command.js'
import { contextArg, groupArg } from '../../client/flags.js'

export default class GroupDetachContext extends MeroCommand<typeof GroupDetachContext> {
  static override summary = 'Detach a context from its group (admins)'
  static override examples = ['<%= config.bin %> group detach-context team notes']
  static override args = { group: groupArg, context: contextArg }

  async run() {
    const r = await this.call('group.detachContext', { group: this.args.group, context: this.args.context })
    this.out(`Detached ${r.contextId} from ${r.groupId}`)
    return r
  }
}
