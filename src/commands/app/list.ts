import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { formatBytes, formatTime, table } from '../../client/render.js'
import type { ApplicationView } from '../../client/views/context.js'

export default class AppList extends MeroCommand<typeof AppList> {
  static override summary = 'List installed applications'
  static override examples = ['<%= config.bin %> app list', '<%= config.bin %> app list -q']
  static override flags = listFlags

  async run() {
    const r = await this.call<{ applications: ApplicationView[] }>('app.list')
    this.show(() => table(['application', 'alias', 'size', 'methods', 'source', 'installed'], r.applications.map((a) => [this.shown(a.applicationId), a.alias, formatBytes(a.size), a.abi?.methods.length, a.source, formatTime(a.installedAt)]), { empty: 'no applications; install one with `meroctl app install <file.wasm>`', ...this.tableOptions }), r.applications.map((a) => a.applicationId))
    return r
  }
}
