import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { withSpinner } from '../../client/progress.js'
import { keyValue } from '../../client/render.js'

export default class GroupJoin extends MeroCommand<typeof GroupJoin> {
  static override summary = "Join a group with an invitation token: fetch its history from the inviter's node, then claim (and join the context the invitation names, if any)"
  static override examples = ['<%= config.bin %> group join mero-inv1-…']
  static override args = { token: Args.string({ description: 'the invitation token', required: true }) }

  async run() {
    const r = await withSpinner('joining', !this.jsonEnabled(), () => this.call('group.join', { token: this.args.token }))
    const sync = r.contextSync && `${r.contextSync.fetched} record(s) fetched (${r.contextSync.method})`
    this.out(`Joined\n${keyValue([['group', r.groupId], ['as', r.identity], ['history', `${r.fetched} ops fetched`], ...(r.contextId ? [['context', r.contextId], ['state', sync]] as [string, string | undefined][] : [])])}`)
    return r
  }
}
