import { Args, Flags } from '@oclif/core'
import { kindFlag } from '../../client/flags.js'
import type { AliasKind } from '../../api/methods.js'
import { MeroCommand } from '../../client/base-command.js'

export default class AliasCreate extends MeroCommand<typeof AliasCreate> {
  static override summary = 'Name an id; the name is then accepted wherever the id is'
  static override examples = ['<%= config.bin %> alias create team-chat <context id> --kind context']
  static override args = {
    alias: Args.string({ description: "the name: 1-50 of A-Z a-z 0-9 . _ -, not . or ..", required: true }),
    id: Args.string({ description: 'the id it names', required: true }),
  }
  static override flags = { kind: kindFlag, force: Flags.boolean({ description: 'repoint an existing alias' }) }

  async run() {
    const r = await this.call('alias.create', { kind: this.flags.kind as AliasKind, alias: this.args.alias, id: this.args.id, force: this.flags.force })
    this.out(`${r.kind} alias '${r.alias}' → ${r.id}`)
    return r
  }
}
