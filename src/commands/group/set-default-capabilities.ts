import { MeroCommand } from '../../client/base-command.js'
import { capabilityChanges, capabilityFlags, groupArg } from '../../client/flags.js'
import { capabilityNames } from '../../client/views/group.js'
import { MeroError } from '../../core/primitives/errors.js'

export default class GroupSetDefaultCapabilities extends MeroCommand<typeof GroupSetDefaultCapabilities> {
  static override summary = 'Grant or revoke capabilities that new members get'
  static override examples = ['<%= config.bin %> group set-default-capabilities team --can-create-context --no-can-join-open-contexts']
  static override args = { group: groupArg }
  static override flags = capabilityFlags

  async run() {
    const { grant, revoke } = capabilityChanges(this.flags)
    if (!grant.length && !revoke.length) throw new MeroError('InvalidInput', 'name at least one capability to grant (--can-...) or revoke (--no-can-...)')
    const r = await this.call('group.setDefaultCapabilities', { group: this.args.group, grant, revoke })
    this.out(`New members of ${r.groupId} may: ${capabilityNames(r.defaultCapabilities).join(', ') || 'nothing beyond membership'}`)
    return r
  }
}
