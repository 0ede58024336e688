import { MeroCommand } from '../../client/base-command.js'
import { initFlags, yesFlag } from '../../client/flags.js'
import { keyValue } from '../../client/render.js'

export default class NodeInit extends MeroCommand<typeof NodeInit> {
  static override summary = 'Create a node: its folder, identity key and config'
  static override description = 'Creates <home>/<node>/ (mode 0700) with identity.key (an Ed25519 key, mode 0600) and a documented config.toml. Refuses to touch an existing node unless --force, which asks first on a terminal (--yes otherwise).'
  static override examples = ['<%= config.bin %> node init', '<%= config.bin %> node init --node alice --listen /ip4/127.0.0.1/tcp/2500', '<%= config.bin %> node init --force --yes']
  static override flags = { ...initFlags, yes: yesFlag }

  async run() {
    const opts = { listen: this.flags.listen, bootstrap: this.flags.bootstrap, force: this.flags.force }
    if (opts.force) {
      // the arguments and the node are checked (merod init --dry-run) before anything is asked
      const c = await this.manager.checkInit(opts)
      if (c.exists) await this.confirm(`Replace node '${c.node}' (${c.dir}): its identity, config and data are deleted, for good?`, this.flags.yes)
    }
    const r = await this.manager.init(opts)
    this.out(`Initialised node '${r.node}'\n` + keyValue([['folder', r.dir], ['identity', r.identity], ['peer id', r.peerId], ['listen', r.listen]]))
    return r
  }
}
