import { MeroCommand } from '../../client/base-command.js'
import { contextArg } from '../../client/flags.js'
import { withSpinner } from '../../client/progress.js'

export default class ContextSync extends MeroCommand<typeof ContextSync> {
  static override summary = "Sync a context's state with its peers now"
  static override examples = ['<%= config.bin %> context sync notes']
  static override args = { context: contextArg }

  async run() {
    const r = await withSpinner('syncing with peers', !this.jsonEnabled(), () => this.call('context.sync', { context: this.args.context }))
    this.out(`Synced ${r.contextId} with ${r.peers} peer(s): ${r.fetched} record(s) fetched; root hash ${r.rootHash}${r.errors.length ? `\n${r.errors.join('\n')}` : ''}`)
    return r
  }
}
