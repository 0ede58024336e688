import { Args, Flags } from '@oclif/core'
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { Progress } from '../../client/progress.js'
import { formatBytes } from '../../client/render.js'
import { MeroError } from '../../core/primitives/errors.js'

export default class BlobGet extends MeroCommand<typeof BlobGet> {
  static override summary = "Write a blob's content to a file (-o) or to stdout"
  static override examples = ['<%= config.bin %> blob get <id> -o photo.jpg', '<%= config.bin %> blob get <id> > photo.jpg', '<%= config.bin %> blob get <id> --context notes -o report.pdf']
  static override args = { blob: Args.string({ description: 'the blob id', required: true }) }
  static override flags = {
    output: Flags.string({ char: 'o', description: 'write to this file instead of stdout' }),
    force: Flags.boolean({ description: 'overwrite the output file if it exists' }),
    context: Flags.string({ description: 'a context (id or alias) whose app shared the blob: fetched from its peers when this node lacks it' }),
  }

  async run() {
    const client = await this.client()
    if (this.flags.output) {
      const path = resolve(this.flags.output)
      if (existsSync(path) && !this.flags.force) throw new MeroError('InvalidInput', `${path} exists; pass --force to overwrite it`)
      const tmp = `${path}.part-${process.pid}`
      try {
        const progress = Progress.bytes('fetching', !this.jsonEnabled())
        const size = await client.download(this.args.blob, createWriteStream(tmp, { mode: 0o644 }), { context: this.flags.context, onProgress: (n, total) => progress.set(n, total) }).finally(() => progress.finish())
        renameSync(tmp, path)
        this.out(`Wrote ${formatBytes(size)} to ${path}`)
        return { blobId: this.args.blob, size, path }
      } catch (e) {
        rmSync(tmp, { force: true })
        throw e
      }
    }
    if (this.jsonEnabled()) throw new MeroError('InvalidInput', 'with --json, pass -o FILE (the content is binary)')
    if (process.stdout.isTTY) throw new MeroError('InvalidInput', 'refusing to write binary content to a terminal; pass -o FILE or redirect stdout')
    const progress = Progress.bytes('fetching', true)
    await client.download(this.args.blob, process.stdout, { context: this.flags.context, onProgress: (n, total) => progress.set(n, total) }).finally(() => progress.finish())
    return undefined
  }
}
