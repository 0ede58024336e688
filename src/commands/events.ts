import { Errors, Flags } from '@oclif/core'
import { EXIT_FAILURE, EXIT_USAGE, MeroCommand } from '../client/base-command.js'
import { printEvents } from '../client/event-stream.js'
import { RpcError } from '../client/rpc-client.js'
import { NODE_EVENT_TYPES } from '../events/event-types.js'
import { didYouMean } from '../core/primitives/suggest.js'

const GROUP_ID = /^[0-9a-f]{64}$/i
const BASE58_ID = /^[1-9A-HJ-NP-Za-km-z]{43,44}$/

export default class Events extends MeroCommand<typeof Events> {
  static override summary = "Stream the node's events (for scripts: one JSON object per line with --json)"
  static override description = `Prints node events as they happen: governance ops applied or rejected, members added or removed, contexts created, state changes, deltas, peers and sync sessions. Ends after --count events, or on ctrl-c.
Periodic heartbeats are left out unless asked for with --type heartbeat. With --json, one JSON object per line to the end (an error too is one line).
Event types: ${NODE_EVENT_TYPES.join(', ')}.`
  static override examples = [
    '<%= config.bin %> events',
    '<%= config.bin %> events --group team --json',
    '<%= config.bin %> events --type group.member.added --type group.member.removed --count 1 --json',
  ]
  static override flags = {
    group: Flags.string({ char: 'g', description: 'only the events of this group (id or alias)' }),
    context: Flags.string({ char: 'c', description: 'only the events of this context (id or alias)' }),
    type: Flags.string({ char: 't', description: 'only events of this type, e.g. group.member.added (repeatable)', multiple: true }),
    count: Flags.integer({ char: 'n', description: 'stop after this many events', min: 1 }),
  }

  protected override streaming = true

  async run() {
    const types = this.flags.type
    for (const t of types ?? []) {
      if (!(NODE_EVENT_TYPES as readonly string[]).includes(t)) {
        throw new Errors.CLIError(`--type ${JSON.stringify(t)} is not an event type.${didYouMean(t, NODE_EVENT_TYPES)} The types: ${NODE_EVENT_TYPES.join(', ')}`, { exit: EXIT_USAGE })
      }
    }
    const client = await this.client()
    const group = this.flags.group && (await this.resolve('group', this.flags.group))
    const context = this.flags.context && (await this.resolve('context', this.flags.context))
    await printEvents(client, { group: group || undefined, context: context || undefined, types }, {
      json: this.jsonEnabled(),
      count: this.flags.count,
      onOpen: () => {
        if (!this.jsonEnabled() && process.stderr.isTTY) process.stderr.write(`listening for events of node '${this.manager.home.node}' (ctrl-c to stop)\n`)
      },
    })
  }

  /** An alias (or id) to the id the stream filters on, through the daemon's own resolution. */
  private async resolve(kind: 'group' | 'context', ref: string): Promise<string> {
    if (kind === 'group' ? GROUP_ID.test(ref) : BASE58_ID.test(ref)) return ref
    try {
      const id = kind === 'group' ? (await this.call('group.get', { group: ref })).groupId : (await this.call('context.get', { context: ref })).contextId
      if (typeof id === 'string' && id) return id
    } catch (e) {
      if (e instanceof RpcError && e.code === -32601) {
        throw new Errors.CLIError(`cannot resolve the ${kind} alias '${ref}': this daemon has no ${kind}.get; pass the ${kind} id instead`, { exit: EXIT_USAGE })
      }
      throw e
    }
    throw new Errors.CLIError(`cannot resolve the ${kind} '${ref}'`, { exit: EXIT_FAILURE })
  }
}
