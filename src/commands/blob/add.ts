import { Args } from '@oclif/core'
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { uploadWithProgress } from '../../client/upload.js'
import { MeroError } from '../../core/primitives/errors.js'
import { quietFlag } from '../../client/flags.js'
import { formatBytes, keyValue } from '../../client/render.js'

export default class BlobAdd extends MeroCommand<typeof BlobAdd> {
  static override summary = 'Store a file as a content-addressed blob'
  static override examples = ['<%= config.bin %> blob add ./photo.jpg', 'BLOB=$(<%= config.bin %> blob add ./photo.jpg -q)']
  static override flags = { quiet: quietFlag }
  static override args = { file: Args.string({ description: 'the file to store', required: true }) }

  async run() {
    const path = resolve(this.args.file)
    if (!existsSync(path) || !statSync(path).isFile()) throw new MeroError('InvalidInput', `no file at ${path}`)
    const client = await this.client()
    const r = await uploadWithProgress(client, path, 'storing', !this.jsonEnabled())
    this.show(() => keyValue([['blob id', r.blobId], ['size', formatBytes(r.size)], ['chunks', r.chunks]]), r.blobId)
    return r
  }
}
