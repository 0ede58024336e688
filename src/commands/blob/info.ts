import { Args } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { formatBytes, formatTime, keyValue } from '../../client/render.js'

export default class BlobInfo extends MeroCommand<typeof BlobInfo> {
  static override summary = "Show a blob's size, chunks and holders"
  static override examples = ['<%= config.bin %> blob info 7Xq9…', '<%= config.bin %> blob info 7Xq9… --json']
  static override args = { blob: Args.string({ description: 'the blob id', required: true }) }

  async run() {
    const b = await this.call('blob.get', { blobId: this.args.blob })
    this.out(keyValue([['blob id', b.blobId], ['size', formatBytes(b.size)], ['chunks', b.chunks], ['held by', b.holders], ['added', formatTime(b.createdAt)]]))
    return b
  }
}
