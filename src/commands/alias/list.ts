import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import type { AliasKind } from '../../api/methods.js'
import { table } from '../../client/render.js'

export default class AliasList extends MeroCommand<typeof AliasList> {
  static override summary = 'List aliases'
  static override flags = { kind: Flags.string({ char: 'k', description: 'only this kind', options: ['context', 'application', 'identity', 'group'] }) }

  async run() {
    const r = await this.call('alias.list', this.flags.kind ? { kind: this.flags.kind as AliasKind } : {})
    this.out(table(['kind', 'alias', 'id'], r.aliases.map((a) => [a.kind, a.alias, a.id]), { empty: 'no aliases' }))
    return r
  }
}
