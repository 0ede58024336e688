import { MeroCommand } from '../../client/base-command.js'
import { groupArg, identityArg } from '../../client/flags.js'
import { keyValue } from '../../client/render.js'
import { capabilityNames } from '../../client/views/group.js'

export default class GroupGetCapabilities extends MeroCommand<typeof GroupGetCapabilities> {
  static override summary = "Show a member's role and capabilities"
  static override examples = ['<%= config.bin %> group get-capabilities team 5Hd…x9']
  static override args = { group: groupArg, identity: identityArg }

  async run() {
    const r = await this.call('group.getCapabilities', { group: this.args.group, identity: this.args.identity })
    this.out(keyValue([['identity', r.identity], ['role', r.role], ['capabilities', r.role === 'admin' ? 'all (admin)' : capabilityNames(r.capabilities).join(', ') || 'none'], ['bitmask', r.capabilities]]))
    return r
  }
}
