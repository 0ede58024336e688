import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { yesFlag } from '../../client/flags.js'

export default class AppUninstall extends MeroCommand<typeof AppUninstall> {
  static override summary = 'Uninstall an application (refused while a context uses it)'
  static override examples = ['<%= config.bin %> app uninstall kv', '<%= config.bin %> app uninstall kv --yes --json']
  static override args = { app: Args.string({ description: 'application id or alias', required: true }) }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirmAfter(() => this.call('app.get', { application: this.args.app }), (a) => `Uninstall application ${a.applicationId}${a.alias ? ` (${a.alias})` : ''}${a.kind === 'package' ? `, package ${a.package} ${a.version}` : ''}?`, this.flags.yes)
    const r = await this.call('app.uninstall', { application: this.args.app })
    this.out(`Uninstalled ${r.applicationId}`)
    return r
  }
}
