import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { formatBytes, formatTime, table } from '../../client/render.js'

export default class BlobList extends MeroCommand<typeof BlobList> {
  static override summary = 'List the blobs stored on this node'
  static override examples = ['<%= config.bin %> blob list', '<%= config.bin %> blob list -q']
  static override flags = listFlags

  async run() {
    const r = await this.call('blob.list')
    const id = this.shown
    this.show(() => table(['blob id', 'size', 'chunks', 'held by', 'added'], r.blobs.map((b) => [id(b.blobId), formatBytes(b.size), b.chunks, b.holders.map(id).join(', '), formatTime(b.createdAt)]), { empty: 'no blobs; add one with `meroctl blob add <file>`', ...this.tableOptions }), r.blobs.map((b) => b.blobId))
    return r
  }
}
