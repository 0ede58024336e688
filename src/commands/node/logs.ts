import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { sleep } from '../../client/daemon-manager.js'
import { formatLogRecord, LEVEL_NAMES, levelNumber, matches, parseLogLine, parseSince, readAppended, tailRecords, type LogFilter } from '../../client/logs.js'

export default class NodeLogs extends MeroCommand<typeof NodeLogs> {
  static override summary = "Show the daemon's log (merod.log): what changed and happened on the node"
  static override description = `One line per thing that changed or happened: groups, members, roles, contexts, joins, invitations, peers connected and lost, sync sessions with counts and time, GC runs, rejected messages per peer and reason; warnings and errors with their cause.
Readable lines by default (--wide adds every field, such as full ids); --json prints {records: [...]} (with --follow: one JSON object per line).`
  static override examples = ['<%= config.bin %> node logs -n 50', '<%= config.bin %> node logs -f', '<%= config.bin %> node logs --level warn --since 1h', '<%= config.bin %> node logs --since 2025-01-02T10:00 --json']
  static override flags = {
    lines: Flags.integer({ char: 'n', description: 'how many of the last matching lines to show', default: 40, min: 0 }),
    follow: Flags.boolean({ char: 'f', description: 'keep printing new lines until interrupted' }),
    level: Flags.string({ char: 'l', description: 'only lines at this level or above', options: [...LEVEL_NAMES] }),
    since: Flags.string({ char: 's', description: 'only lines since a duration ago (15m, 2h, 1d) or a date (2025-01-02T10:00)' }),
    wide: Flags.boolean({ char: 'w', description: 'show every field of each line (full ids)' }),
  }

  async run() {
    const path = this.manager.home.log
    const filter: LogFilter = { minLevel: this.flags.level ? levelNumber(this.flags.level) : undefined, since: this.flags.since ? parseSince(this.flags.since) : undefined }
    const { records, size } = tailRecords(path, this.flags.lines, filter)
    const format = (r: (typeof records)[number]) => formatLogRecord(r, this.flags.wide)
    if (!this.flags.follow) {
      if (!this.jsonEnabled()) this.log(records.length ? records.map(format).join('\n') : size ? '(no matching lines)' : `(no log yet at ${path})`)
      return { path, records }
    }
    this.streaming = true
    const emit = (r: (typeof records)[number]) => process.stdout.write((this.jsonEnabled() ? JSON.stringify(r) : format(r)) + '\n')
    records.forEach(emit)
    let offset = size
    let stop = false
    const onSignal = () => (stop = true)
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    while (!stop) {
      const next = readAppended(path, offset)
      offset = next.offset
      next.lines
        .map(parseLogLine)
        .filter((r) => matches(r, filter))
        .forEach(emit)
      await sleep(200)
    }
    // followed output was already printed line by line
    return undefined
  }
}
