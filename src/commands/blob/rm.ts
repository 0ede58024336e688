import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { yesFlag } from '../../client/flags.js'
import { formatBytes } from '../../client/render.js'

export default class BlobRm extends MeroCommand<typeof BlobRm> {
  static override summary = 'Remove a blob (refused while an application uses it)'
  static override examples = ['<%= config.bin %> blob rm 7Xq9… --yes']
  static override args = { blob: Args.string({ description: 'the blob id', required: true }) }
  static override flags = { yes: yesFlag }

  async run() {
    await this.confirmAfter(() => this.call('blob.get', { blobId: this.args.blob }), (b) => `Remove blob ${b.blobId} (${formatBytes(b.size)})?`, this.flags.yes)
    const r = await this.call('blob.remove', { blobId: this.args.blob })
    this.out(`Removed blob ${r.blobId}`)
    return r
  }
}
