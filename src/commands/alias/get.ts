import { Args } from '@oclif/core'
import { kindFlag } from '../../client/flags.js'
import type { AliasKind } from '../../api/methods.js'
import { MeroCommand } from '../../client/base-command.js'

export default class AliasGet extends MeroCommand<typeof AliasGet> {
  static override summary = 'Show the id an alias names'
  static override examples = ['<%= config.bin %> alias get notes --kind context']
  static override args = { alias: Args.string({ description: 'the alias', required: true }) }
  static override flags = { kind: kindFlag }

  async run() {
    const r = await this.call('alias.get', { kind: this.flags.kind as AliasKind, alias: this.args.alias })
    this.out(r.id)
    return r
  }
}
