import { Args, Errors, Flags } from '@oclif/core'
import { EXIT_USAGE, MeroCommand } from '../../client/base-command.js'
import { withSpinner } from '../../client/progress.js'
import { readInput } from '../../client/read-input.js'
import { keyValue } from '../../client/render.js'

export default class GroupJoin extends MeroCommand<typeof GroupJoin> {
  static override summary = "Join a group with an invitation token: fetch its history from the inviter's node, then claim (and join the context the invitation names, if any)"
  static override description =
    "The token is a secret until it is used up: pass '-' to read it from stdin, or --token-file, to keep it out of shell history. An invitation admits as many identities as its uses (1 unless created with --max-uses); a claim past them is refused by the inviter's node and by every member."
  static override examples = ['<%= config.bin %> group join mero-inv2-…', 'pbpaste | <%= config.bin %> group join -', '<%= config.bin %> group join --token-file invite.txt']
  static override args = { token: Args.string({ description: "the invitation token, or '-' to read it from stdin", required: false, ignoreStdin: true }) }
  static override flags = { 'token-file': Flags.string({ description: 'read the invitation token from this file' }) }

  async run() {
    const r = await withSpinner('joining', !this.jsonEnabled(), () => this.call('group.join', { token: this.tokenGiven() }))
    const sync = r.contextSync && `${r.contextSync.fetched} record(s) fetched (${r.contextSync.method})`
    this.out(`Joined\n${keyValue([['group', r.groupId], ['as', r.identity], ['history', `${r.fetched} ops fetched`], ...(r.contextId ? [['context', r.contextId], ['state', sync]] as [string, string | undefined][] : [])])}`)
    return r
  }

  private tokenGiven(): string {
    const file = this.flags['token-file']
    if (file !== undefined && this.args.token !== undefined) throw new Errors.CLIError('give the token as an argument, or --token-file, not both', { exit: EXIT_USAGE })
    if (file !== undefined) return readInput(file, 'invitation token file')
    if (this.args.token === undefined) throw new Errors.CLIError("no invitation token: pass it as an argument, '-' to read it from stdin, or --token-file F", { exit: EXIT_USAGE })
    return this.args.token === '-' ? readInput('-', 'invitation token on stdin') : this.args.token
  }
}
