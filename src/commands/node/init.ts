import { MeroCommand } from '../../client/base-command.js'
import { initFlags } from '../../client/flags.js'
import { keyValue } from '../../client/render.js'

export default class NodeInit extends MeroCommand<typeof NodeInit> {
  static override summary = 'Create a node: its folder, identity key and config'
  static override description = 'Creates <home>/<node>/ (mode 0700) with identity.key (an Ed25519 key, mode 0600) and a documented config.toml. Refuses to touch an existing node unless --force.'
  static override examples = ['<%= config.bin %> node init', '<%= config.bin %> node init --node alice --listen /ip4/127.0.0.1/tcp/2500']
  static override flags = initFlags

  async run() {
    const r = await this.manager.init({ listen: this.flags.listen, bootstrap: this.flags.bootstrap, force: this.flags.force })
    this.out(`Initialised node '${r.node}'\n` + keyValue([['folder', r.dir], ['identity', r.identity], ['peer id', r.peerId], ['listen', r.listen]]))
    return r
  }
}
