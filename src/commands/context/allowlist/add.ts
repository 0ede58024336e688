import { Args } from '@oclif/core'
import { MeroCommand } from '../../../client/base-command.js'
import { contextArg } from '../../../client/flags.js'

export default class ContextAllowlistAdd extends MeroCommand<typeof ContextAllowlistAdd> {
  static override summary = "Add identities to a restricted context's allowlist"
  static override examples = ['<%= config.bin %> context allowlist add notes 5Hd…x9 7Gk…p2']
  static override strict = false
  static override args = { context: contextArg, identities: Args.string({ description: 'identities (base58) or identity aliases', required: true }) }

  async run() {
    const r = await this.call('context.manageAllowlist', { context: this.args.context, add: this.positionals.slice(1) })
    this.out(`Allowlist of ${r.contextId}: ${r.allowlist.length ? r.allowlist.join(', ') : '(empty)'}`)
    return r
  }
}
