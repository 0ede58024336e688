import { MeroCommand } from '../../client/base-command.js'
import { contextArg } from '../../client/flags.js'
import { withSpinner } from '../../client/progress.js'

export default class ContextJoin extends MeroCommand<typeof ContextJoin> {
  static override summary = "Join a context of one of your groups: its key, application and state come from a peer"
  static override description = 'The context must be registered in a group this node is a member of; open contexts need the join-open-contexts capability, restricted ones the allowlist (admins join any).'
  static override args = { context: contextArg }
  static override examples = ['<%= config.bin %> context join 7Xq9…', '<%= config.bin %> context join my-doc --json']

  async run() {
    const r = await withSpinner('joining: the key, application and state from a peer', !this.jsonEnabled(), () => this.call('context.join', { context: this.args.context }))
    this.out(`Joined context ${r.contextId} of group ${r.groupId}: ${r.fetched} record(s) fetched (${r.method})`)
    return r
  }
}
