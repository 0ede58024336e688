import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'

export default class ConfigSet extends MeroCommand<typeof ConfigSet> {
  static override summary = "Change one key of the node's configuration (validated; says when a restart is needed)"
  static override description = `The value is JSON (10, true, "text", ["a","b"]) or bare text; a list key also takes comma-separated items. The key and the value are checked as the daemon checks them at start. A running daemon reads its configuration when it starts: the answer says so, and how to restart it.`
  static override examples = ['<%= config.bin %> config set log.level debug', '<%= config.bin %> config set sync.timeout_secs 60 --node alice', '<%= config.bin %> config set network.bootstrap /ip4/10.0.0.2/tcp/2428/p2p/12D3KooW…']
  static override args = {
    key: Args.string({ description: 'section.key, e.g. log.level', required: true }),
    value: Args.string({ description: 'the new value', required: true }),
  }

  async run() {
    const r = await this.manager.merod<{ key: string; value: unknown; previous: unknown; changed: boolean }>(['config', 'set', this.args.key, this.args.value])
    const running = r.changed && (await this.manager.probe().catch(() => undefined)) !== undefined
    const restart = `meroctl node restart${this.manager.nodeFlag}`
    this.out(`${r.key} = ${JSON.stringify(r.value)}${r.changed ? ` (was ${JSON.stringify(r.previous)})` : ' (unchanged)'}${running ? `\nThe daemon is running: restart it to apply the change (\`${restart}\`)` : ''}`)
    return { node: this.manager.home.node, ...r, restartNeeded: running }
  }
}
