import { MeroCommand } from '../../client/base-command.js'
import { capabilityChanges, capabilityFlags, groupArg, identityArg } from '../../client/flags.js'
import { capabilityNames } from '../../client/views/group.js'
import { MeroError } from '../../core/primitives/errors.js'

export default class GroupSetCapabilities extends MeroCommand<typeof GroupSetCapabilities> {
  static override summary = "Grant (--can-...) or revoke (--no-can-...) a member's capabilities"
  static override examples = ['<%= config.bin %> group set-capabilities team 5Hd...x9 --can-create-context --no-can-invite-members']
  static override args = { group: groupArg, identity: identityArg }
  static override flags = capabilityFlags

  async run() {
    const { grant, revoke } = capabilityChanges(this.flags)
    if (!grant.length && !revoke.length) throw new MeroError('InvalidInput', 'name at least one capability to grant (--can-...) or revoke (--no-can-...)')
    const r = await this.call('group.setMemberCapabilities', { group: this.args.group, identity: this.args.identity, grant, revoke })
    this.out(`${r.identity} may now: ${capabilityNames(r.capabilities).join(', ') || 'nothing beyond membership'}`)
    return r
  }
}
