import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { formatTime, table } from '../../client/render.js'
import { applicationKind } from '../../client/views/context.js'

export default class AppList extends MeroCommand<typeof AppList> {
  static override summary = 'List installed applications (--packages: the signed packages, with versions and signers)'
  static override flags = { packages: Flags.boolean({ description: 'only signed packages: package, version, signer' }) }

  async run() {
    const r = await this.call('app.list')
    if (this.flags.packages) {
      const packages = r.applications
        .filter((a) => a.kind === 'package')
        .map((a) => ({ package: a.package!, version: a.version!, signer: a.signer!, applicationId: a.applicationId, alias: a.alias ?? null, previousVersions: a.previousVersions ?? [], installedAt: a.installedAt }))
      this.out(table(['package', 'version', 'signer', 'application', 'alias', 'installed'], packages.map((p) => [p.package, p.version, p.signer, p.applicationId, p.alias, formatTime(p.installedAt)]), { empty: 'no packages; install a signed bundle with `meroctl app install <file.mpk>`' }))
      return { packages }
    }
    this.out(
      table(
        ['application', 'alias', 'kind', 'version', 'size', 'methods', 'source', 'installed'],
        r.applications.map((a) => [a.applicationId, a.alias, applicationKind(a), a.kind === 'package' ? `${a.package} ${a.version}` : undefined, a.size, a.abi?.methods.length, a.source, formatTime(a.installedAt)]),
        { empty: 'no applications; install one with `meroctl app install <file.mpk|file.wasm>`' },
      ),
    )
    return r
  }
}
