import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { groupArg, yesFlag } from '../../client/flags.js'

export default class GroupRemoveMembers extends MeroCommand<typeof GroupRemoveMembers> {
  static override summary = 'Remove identities from a group (and from its contexts)'
  static override description = 'What it guarantees: a new key epoch starts with the op (sealed to those who may still read), so nothing written after it is readable or writable by the removed identities, on any node. What it cannot: what they read before stays with them.'
  static override examples = ['<%= config.bin %> group remove-members team 5Hd…x9', '<%= config.bin %> group remove-members team 5Hd…x9 7Gk…p2 --yes --json']
  static override strict = false
  static override args = { group: groupArg, identities: Args.string({ description: 'identities (base58) or identity aliases', required: true }) }
  static override flags = { yes: yesFlag }

  async run() {
    const identities = this.positionals.slice(1)
    // each one must be a member (this also resolves aliases) before anything is asked
    await this.confirmAfter(
      () => Promise.all(identities.map((identity) => this.call('group.getCapabilities', { group: this.args.group, identity }))),
      (ms) => `Remove ${ms.length} member${ms.length === 1 ? '' : 's'} (${ms.map((m) => m.identity).join(', ')}) from group ${ms[0]!.groupId}, and from its contexts?`,
      this.flags.yes,
    )
    const r = await this.call('group.removeMembers', { group: this.args.group, identities })
    this.out(`Removed ${r.removed.length} member${r.removed.length === 1 ? '' : 's'} from ${r.groupId}`)
    return r
  }
}
