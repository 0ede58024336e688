import { MeroCommand } from '../../client/base-command.js'
import { formatTime, table } from '../../client/render.js'

export default class BlobList extends MeroCommand<typeof BlobList> {
  static override summary = 'List the blobs stored on this node'

  async run() {
    const r = await this.call('blob.list')
    this.out(table(['blob id', 'size', 'chunks', 'held by', 'added'], r.blobs.map((b) => [b.blobId, b.size, b.chunks, b.holders.join(', '), formatTime(b.createdAt)]), { empty: 'no blobs; add one with `meroctl blob add <file>`' }))
    return r
  }
}
