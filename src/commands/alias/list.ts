import { Flags } from '@oclif/core'
import type { AliasKind } from '../../api/methods.js'
import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { table } from '../../client/render.js'

export default class AliasList extends MeroCommand<typeof AliasList> {
  static override summary = 'List aliases'
  static override examples = ['<%= config.bin %> alias list', '<%= config.bin %> alias list --kind context']
  static override flags = { ...listFlags, kind: Flags.string({ char: 'k', description: 'only this kind', options: ['context', 'application', 'identity', 'group'] }) }

  async run() {
    const r = await this.call('alias.list', this.flags.kind ? { kind: this.flags.kind as AliasKind } : {})
    this.show(() => table(['kind', 'alias', 'id'], r.aliases.map((a) => [a.kind, a.alias, this.shown(a.id)]), { empty: 'no aliases', ...this.tableOptions }), r.aliases.map((a) => a.alias))
    return r
  }
}
