import { MeroCommand } from '../client/base-command.js'

export default class Version extends MeroCommand<typeof Version> {
  static override summary = "Show meroctl's version (and the Node.js it runs on)"
  static override description = '`meroctl --version` and `meroctl -v` are the same command.'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> --version --json']

  async run() {
    const r = { name: 'meroctl', version: this.config.version, node: process.version, platform: `${process.platform}-${process.arch}` }
    this.out(`meroctl ${r.version} (node ${r.node}, ${r.platform})`)
    return r
  }
}
