import { Errors } from '@oclif/core'
import { EXIT_USAGE, MeroCommand } from '../client/base-command.js'

export default class Watch extends MeroCommand<typeof Watch> {
  static override summary = 'Watch the node live: groups, contexts, peers and governance as they change'
  static override description = `A full-screen terminal UI over the daemon's event stream. Keys: tab or ←/→ move between panes, ↑/↓ move in a pane, enter opens details, esc goes back, / filters the event log, q quits.
It survives the daemon restarting: it says so on screen and reconnects. It needs a terminal; in scripts use \`meroctl events\`.`
  static override examples = ['<%= config.bin %> watch', '<%= config.bin %> watch --node alice']

  async run() {
    if (this.jsonEnabled()) {
      throw new Errors.CLIError('meroctl watch is interactive and has no --json output; for a stream of JSON events use `meroctl events --json`', { exit: EXIT_USAGE })
    }
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      throw new Errors.CLIError('meroctl watch needs a terminal (stdin and stdout must be a TTY); in scripts use `meroctl events` (with --json for one JSON object per line)', { exit: EXIT_USAGE })
    }
    await this.client() // starts the daemon when none answers (unless --no-start)
    // ink's colours (chalk) ignore NO_COLOR; chalk reads FORCE_COLOR once, when ink is first loaded
    if ('NO_COLOR' in process.env) process.env.FORCE_COLOR = '0'
    // ink renders only a final frame when it believes it runs in CI (is-in-ci reads CI and
    // CONTINUOUS_INTEGRATION when ink loads); watch has a terminal, so it always renders live
    for (const k of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[k]
    const { runWatch } = await import('../client/tui/run.js') // ink and react load only here
    await runWatch({ connect: () => this.manager.client(10_000), nodeName: this.manager.home.node })
  }
}
