import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { groupArg } from '../../client/flags.js'

export default class GroupRemoveMembers extends MeroCommand<typeof GroupRemoveMembers> {
  static override summary = 'Remove identities from a group (and from its contexts)'
  static override description = 'What it guarantees: a new key epoch starts with the op (sealed to those who may still read), so nothing written after it is readable or writable by the removed identities, on any node. What it cannot: what they read before stays with them.'
  static override strict = false
  static override args = { group: groupArg, identities: Args.string({ description: 'identities (base58) or identity aliases', required: true }) }

  async run() {
    const identities = this.positionals.slice(1)
    const r = await this.call('group.removeMembers', { group: this.args.group, identities })
    this.out(`Removed ${r.removed.length} member${r.removed.length === 1 ? '' : 's'} from ${r.groupId}`)
    return r
  }
}
