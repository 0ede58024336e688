import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import type { Role } from '../../api/methods.js'
import { groupArg, roleFlag } from '../../client/flags.js'

export default class GroupAddMembers extends MeroCommand<typeof GroupAddMembers> {
  static override summary = 'Add identities to a group'
  static override examples = ['<%= config.bin %> group add-members team 5Hd...x9 7Gk...p2 --role member']
  static override strict = false
  static override args = { group: groupArg, identities: Args.string({ description: 'identities (base58) or identity aliases', required: true }) }
  static override flags = { role: roleFlag }

  async run() {
    const identities = this.positionals.slice(1)
    const r = await this.call('group.addMembers', { group: this.args.group, identities, role: this.flags.role as Role })
    this.out(`Added ${r.added.length} member${r.added.length === 1 ? '' : 's'} as ${this.flags.role} to ${r.groupId}`)
    return r
  }
}
