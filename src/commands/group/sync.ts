import { MeroCommand } from '../../client/base-command.js'
import { groupArg } from '../../client/flags.js'
import { withSpinner } from '../../client/progress.js'

export default class GroupSync extends MeroCommand<typeof GroupSync> {
  static override summary = "Catch up a group's governance ops from its peers now"
  static override examples = ['<%= config.bin %> group sync team']
  static override args = { group: groupArg }

  async run() {
    const r = await withSpinner('syncing with peers', !this.jsonEnabled(), () => this.call('group.sync', { group: this.args.group }))
    this.out(`Synced ${r.groupId} with ${r.peers} peer(s): ${r.fetched} op(s) fetched; state hash ${r.stateHash}${r.errors.length ? `\n${r.errors.join('\n')}` : ''}`)
    return r
  }
}
