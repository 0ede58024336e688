import { Args } from '@oclif/core'
import { resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { withSpinner } from '../../client/progress.js'
import { renderBackup } from '../../client/views/node.js'

export default class NodeBackup extends MeroCommand<typeof NodeBackup> {
  static override summary = 'Back the node up into a folder while it runs'
  static override description =
    "Writes a consistent copy of the node's store (every column as of one instant), the blobs it references, its identity key and its config into DIR (new or empty; mode 0700: it holds the node's private key), and backup.json last. `meroctl node restore DIR` puts it back. A node encrypted at rest (store.encryption_key_file) gives an encrypted backup, under the same key: the key file is not in it, and restoring needs it."
  static override examples = ['<%= config.bin %> node backup /var/backups/mero-$(date +%F)', '<%= config.bin %> node backup ./bk --node alice --json']
  static override args = { dir: Args.string({ description: 'the folder to write (new or empty)', required: true }) }

  async run() {
    const dir = resolve(this.args.dir)
    const manifest = await withSpinner('backing up', !this.jsonEnabled(), () => this.call('node.backup', { dir }))
    this.out(renderBackup(dir, manifest))
    return { dir, ...manifest }
  }
}
