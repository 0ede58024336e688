import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { sleep } from '../../client/daemon-manager.js'
import { formatLogRecord, parseLogLine, readAppended, tailLines } from '../../client/logs.js'

export default class NodeLogs extends MeroCommand<typeof NodeLogs> {
  static override summary = "Show the daemon's log (merod.log)"
  static override description = 'Readable lines by default; --json prints the records as a JSON array (with --follow: one JSON object per line).'
  static override examples = ['<%= config.bin %> node logs -n 50', '<%= config.bin %> node logs -f']
  static override flags = {
    lines: Flags.integer({ char: 'n', description: 'how many of the last lines to show', default: 40, min: 0 }),
    follow: Flags.boolean({ char: 'f', description: 'keep printing new lines until interrupted' }),
  }

  async run() {
    const path = this.manager.home.log
    const { lines, size } = tailLines(path, this.flags.lines)
    const records = lines.map(parseLogLine)
    if (!this.flags.follow) {
      if (!this.jsonEnabled()) this.log(records.length ? records.map(formatLogRecord).join('\n') : `(no log yet at ${path})`)
      return records
    }
    const emit = (r: ReturnType<typeof parseLogLine>) => process.stdout.write((this.jsonEnabled() ? JSON.stringify(r) : formatLogRecord(r)) + '\n')
    records.forEach(emit)
    let offset = size
    let stop = false
    const onSignal = () => (stop = true)
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    while (!stop) {
      const next = readAppended(path, offset)
      offset = next.offset
      next.lines.map(parseLogLine).forEach(emit)
      await sleep(200)
    }
    // followed output was already printed line by line
    return undefined
  }
}
