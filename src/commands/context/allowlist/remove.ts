import { Args } from '@oclif/core'
import { MeroCommand } from '../../../client/base-command.js'
import { contextArg } from '../../../client/flags.js'

export default class ContextAllowlistRemove extends MeroCommand<typeof ContextAllowlistRemove> {
  static override summary = "Remove identities from a context's allowlist"
  static override description = 'What it guarantees: a new key epoch starts with the op (sealed to those who may still read), so nothing written after it is readable or writable by the removed identities on a restricted context, on any node. What it cannot: what they read before stays with them.'
  static override examples = ['<%= config.bin %> context allowlist remove notes 5Hd…x9']
  static override strict = false
  static override args = { context: contextArg, identities: Args.string({ description: 'identities (base58) or identity aliases', required: true }) }

  async run() {
    const r = await this.call('context.manageAllowlist', { context: this.args.context, remove: this.positionals.slice(1) })
    this.out(`Allowlist of ${r.contextId}: ${r.allowlist.length ? r.allowlist.join(', ') : '(empty)'}`)
    return r
  }
}
