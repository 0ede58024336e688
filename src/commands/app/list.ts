import { MeroCommand } from '../../client/base-command.js'
import { formatTime, table } from '../../client/render.js'

export default class AppList extends MeroCommand<typeof AppList> {
  static override summary = 'List installed applications'

  async run() {
    const r = await this.call('app.list')
    this.out(table(['application', 'alias', 'size', 'methods', 'source', 'installed'], r.applications.map((a) => [a.applicationId, a.alias, a.size, a.abi?.methods.length, a.source, formatTime(a.installedAt)]), { empty: 'no applications; install one with `meroctl app install <file.wasm>`' }))
    return r
  }
}
