import { Args } from '@oclif/core'
import { kindFlag } from '../../client/flags.js'
import type { AliasKind } from '../../api/methods.js'
import { MeroCommand } from '../../client/base-command.js'

export default class AliasRm extends MeroCommand<typeof AliasRm> {
  static override summary = 'Remove an alias (the thing it names is untouched)'
  static override examples = ['<%= config.bin %> alias rm notes --kind context']
  static override args = { alias: Args.string({ description: 'the alias', required: true }) }
  static override flags = { kind: kindFlag }

  async run() {
    const r = await this.call('alias.remove', { kind: this.flags.kind as AliasKind, alias: this.args.alias })
    this.out(`Removed ${r.kind} alias '${r.alias}'`)
    return r
  }
}
