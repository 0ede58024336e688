import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { formatBytes, formatTime, table } from '../../client/render.js'
import { applicationKind } from '../../client/views/context.js'

export default class AppList extends MeroCommand<typeof AppList> {
  static override summary = 'List installed applications (--packages: the signed packages, with versions and signers)'
  static override examples = ['<%= config.bin %> app list', '<%= config.bin %> app list --packages', '<%= config.bin %> app list -q']
  static override flags = { packages: Flags.boolean({ description: 'only signed packages: package, version, signer' }), ...listFlags }

  async run() {
    const r = await this.call('app.list')
    const id = this.shown
    if (this.flags.packages) {
      const packages = r.applications
        .filter((a) => a.kind === 'package')
        .map((a) => ({ package: a.package!, version: a.version!, signer: a.signer!, applicationId: a.applicationId, alias: a.alias ?? null, previousVersions: a.previousVersions ?? [], installedAt: a.installedAt }))
      this.show(
        () => table(['package', 'version', 'signer', 'application', 'alias', 'installed'], packages.map((p) => [p.package, p.version, id(p.signer), id(p.applicationId), p.alias, formatTime(p.installedAt)]), { empty: 'no packages; install a signed bundle with `meroctl app install <file.mpk>`', ...this.tableOptions }),
        packages.map((p) => p.applicationId),
      )
      return { packages }
    }
    // to fit 80 columns: a package by its name and version, a bare module as what it is; the
    // methods and source are `app get`'s
    this.show(
      () =>
        table(
          ['application', 'alias', 'package', 'size', 'installed'],
          r.applications.map((a) => [id(a.applicationId), a.alias, a.kind === 'package' ? `${a.package} ${a.version}` : applicationKind(a), formatBytes(a.size), formatTime(a.installedAt)]),
          { empty: 'no applications; install one with `meroctl app install <file.mpk|file.wasm>`', ...this.tableOptions },
        ),
      r.applications.map((a) => a.applicationId),
    )
    return r
  }
}
