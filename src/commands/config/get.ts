import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { keyValue } from '../../client/render.js'

export default class ConfigGet extends MeroCommand<typeof ConfigGet> {
  static override summary = "Show the node's configuration, or one key of it"
  static override description = 'Reads config.toml (the daemon need not run). `meroctl config set` changes a key.'
  static override examples = ['<%= config.bin %> config get', '<%= config.bin %> config get sync.timeout_secs --node alice', '<%= config.bin %> config get --json']
  static override args = { key: Args.string({ description: 'section.key, e.g. log.level', ignoreStdin: true }) }

  async run() {
    const r = await this.manager.merod<Record<string, unknown>>(['config', 'get', ...(this.args.key ? [this.args.key] : [])])
    if (this.args.key) this.out(typeof r[this.args.key] === 'string' ? (r[this.args.key] as string) : JSON.stringify(r[this.args.key]))
    else this.out(keyValue(Object.entries(r).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v : JSON.stringify(v)])))
    return { node: this.manager.home.node, config: r }
  }
}
