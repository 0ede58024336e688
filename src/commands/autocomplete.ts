import { Args } from '@oclif/core'
import { fileURLToPath } from 'node:url'
import { basename } from 'node:path'
import { MeroCommand } from '../client/base-command.js'
import { completionScript, SHELLS, type Shell } from '../client/completion-scripts.js'

export default class Autocomplete extends MeroCommand<typeof Autocomplete> {
  static override summary = 'Print the shell completion script for bash, zsh or fish'
  static override description = `Completes commands, flags and their options, and, while the node's daemon runs, its group, context, application and identity names (never starting a daemon).
bash:  eval "$(meroctl autocomplete bash)"   (add it to ~/.bashrc)
zsh:   eval "$(meroctl autocomplete zsh)"    (add it to ~/.zshrc, after compinit)
fish:  meroctl autocomplete fish > ~/.config/fish/completions/meroctl.fish`
  static override examples = ['eval "$(<%= config.bin %> autocomplete bash)"', '<%= config.bin %> autocomplete fish > ~/.config/fish/completions/meroctl.fish']
  static override args = { shell: Args.string({ description: 'the shell [default: from $SHELL]', options: [...SHELLS], ignoreStdin: true }) }

  async run() {
    const shell = (this.args.shell ?? (SHELLS as readonly string[]).find((s) => s === basename(process.env.SHELL ?? '')) ?? 'bash') as Shell
    const main = fileURLToPath(new URL('../client/completion-main.js', import.meta.url))
    const script = completionScript(shell, process.execPath, main)
    this.out(script.trimEnd())
    return { shell, script }
  }
}
