import { Flags } from '@oclif/core'
import { MeroCommand } from '../../client/base-command.js'
import { printEvents } from '../../client/event-stream.js'
import { contextArg } from '../../client/flags.js'

export default class ContextWatch extends MeroCommand<typeof ContextWatch> {
  static override summary = "Stream a context's events: state changes with the new root hash and the app's events"
  static override examples = ['<%= config.bin %> context watch notes', '<%= config.bin %> context watch notes --json --count 5']
  static override args = { context: contextArg }
  static override flags = { count: Flags.integer({ char: 'n', description: 'stop after this many events', min: 1 }) }

  protected override streaming = true

  async run() {
    const { contextId } = await this.call('context.get', { context: this.args.context })
    await printEvents(await this.client(), { context: contextId }, { json: this.jsonEnabled(), count: this.flags.count })
  }
}
