import { Args } from '@oclif/core'
import { MeroCommand } from '../../../client/base-command.js'
import { readInput } from '../../../client/read-input.js'

export default class GroupOpsApply extends MeroCommand<typeof GroupOpsApply> {
  static override summary = 'Ingest an externally signed governance op (hex or base64), from a file or stdin (-)'
  static override examples = ['<%= config.bin %> group ops apply op.hex', 'cat op.hex | <%= config.bin %> group ops apply -']
  static override args = { file: Args.string({ description: "a file holding the signed op, or '-' for stdin", required: true }) }

  async run() {
    const text = readInput(this.args.file, 'signed op')
    const r = await this.call('group.applySignedOp', { op: text })
    this.out(`op ${r.opId}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`)
    if (r.status === 'rejected') process.exitCode = 1
    return r
  }
}

