import { Command, Errors, Flags, type Interfaces } from '@oclif/core'
import { ERROR_KINDS, isMeroError, MeroError, type ErrorKind } from '../core/primitives/errors.js'
import { DaemonManager } from './daemon-manager.js'
import type { RpcMethod, RpcParams, RpcResult } from '../api/methods.js'
import { ids } from './render.js'
import { ConnectionError, RpcClient, RpcError, TimeoutError } from './rpc-client.js'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof MeroCommand)['baseFlags'] & T['flags']>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** Exit codes (DESIGN §10): 0 success, 1 failure, 2 usage error. */
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/**
 * The base of every meroctl command: global flags (--home, --node, --json, --no-start), a
 * client that starts the daemon when none answers, confirmation of destructive actions, and
 * uniform errors (a JSON document under --json; a message naming the problem otherwise).
 */
export abstract class MeroCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    home: Flags.string({ description: 'mero home directory [default: ~/.mero]', env: 'MERO_HOME', helpGroup: 'GLOBAL' }),
    node: Flags.string({ description: 'node inside the home [default: default]', env: 'MERO_NODE', helpGroup: 'GLOBAL' }),
    start: Flags.boolean({ description: 'start the daemon when none answers (--no-start: fail instead)', default: true, allowNo: true, helpGroup: 'GLOBAL' }),
  }

  /** Commands whose --json output is a stream of lines (NDJSON): their error is one line too. */
  protected streaming = false
  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  /** Every positional argument, in order (for variadic commands declared with strict = false). */
  protected positionals: string[] = []
  private rpc?: RpcClient
  private managerInstance?: DaemonManager

  override async init(): Promise<void> {
    await super.init()
    const { args, flags, argv } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof MeroCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
    this.positionals = argv as string[]
  }

  protected get manager(): DaemonManager {
    this.managerInstance ??= new DaemonManager(this.flags.home, this.flags.node)
    return this.managerInstance
  }

  /** Options of the client (a command may set a timeout, or one connection). */
  protected clientOptions: { timeoutMs?: number; connections?: number } = {}

  /** A client to the node's daemon, started first when needed (unless --no-start). */
  protected async client(): Promise<RpcClient> {
    this.rpc ??= await this.manager.ensureRunning(this.flags.start, this.clientOptions, () => {
      process.stderr.write(`${this.config.bin}: no daemon answers for node '${this.manager.home.node}'; starting merod (--no-start turns this off)\n`)
    })
    return this.rpc
  }

  /** Calls a method of the daemon's contract; the result has the contract's type. */
  protected async call<M extends RpcMethod>(method: M, params?: RpcParams<M>): Promise<RpcResult<M>> {
    return (await this.client()).call(method, params)
  }

  /** Human output only: nothing but the final JSON document goes to stdout under --json. */
  protected out(text: string): void {
    if (!this.jsonEnabled()) this.log(text)
  }

  /** Human output of a result, or with --quiet its id(s), one per line; nothing under --json. */
  protected show(text: () => string, ids: string | string[]): void {
    if (this.jsonEnabled()) return
    if ((this.flags as { quiet?: boolean }).quiet) {
      const list = [ids].flat()
      if (list.length) this.log(list.join('\n'))
      return
    }
    this.log(text())
  }

  /** Ids as human output shows them: shortened by the one rule, or whole with --wide. */
  protected get shown(): (id: string) => string {
    return ids((this.flags as { wide?: boolean }).wide)
  }

  /** Options for render.table: fitted to the terminal unless --wide. */
  protected get tableOptions(): { wide?: boolean } {
    return { wide: (this.flags as { wide?: boolean }).wide }
  }

  /**
   * The confirmation rule of destructive commands (DESIGN §10): `check` validates the input
   * first (the target exists, the caller may act on it: a mistyped id fails before any
   * question), then the question is asked on a terminal; otherwise, and under --json, --yes is
   * required. Returns what `check` found.
   */
  protected async confirmAfter<C>(check: () => Promise<C>, question: (checked: C) => string, yes: boolean | undefined): Promise<C> {
    const checked = await check()
    await this.confirm(question(checked), yes)
    return checked
  }

  /** Destructive actions: ask on a TTY, require --yes otherwise (see confirmAfter, which validates first). */
  protected async confirm(question: string, yes: boolean | undefined): Promise<void> {
    if (yes) return
    if (!process.stdin.isTTY || !process.stderr.isTTY || this.jsonEnabled()) {
      throw Object.assign(new Errors.CLIError(`${question.replace(/\?$/, '')}: refusing without --yes (nothing is asked when not on a terminal, or with --json)`, { exit: EXIT_USAGE }), { kind: 'ConfirmationRequired' })
    }
    const { createInterface } = await import('node:readline/promises') // only when asking
    const rl = createInterface({ input: process.stdin, output: process.stderr })
    try {
      const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase()
      if (answer !== 'y' && answer !== 'yes') throw Object.assign(new Errors.CLIError('cancelled', { exit: EXIT_FAILURE }), { kind: 'Cancelled' })
    } finally {
      rl.close()
    }
  }

  override async catch(err: Error & { oclif?: { exit?: number }; exitCode?: number }): Promise<unknown> {
    const described = describeError(err)
    const { kind, code, exit, data } = described
    const message = withNodeFlag(described.message, this.nodeFlagForHints())
    process.exitCode = exit
    if (this.jsonEnabled()) {
      const doc = { error: { kind, message, ...(code !== undefined ? { code } : {}), ...(data ? { data } : {}) } }
      if (this.streaming) process.stdout.write(`${JSON.stringify(doc)}\n`)
      else this.logJson(doc)
      return
    }
    if (err instanceof Errors.ExitError) throw err
    // one unwrapped line (oclif's renderer wraps at 80 columns, splitting the hints people copy)
    process.stderr.write(`${this.config.bin}: ${message}\n`)
    if (exit === EXIT_USAGE && err instanceof Errors.CLIError) process.stderr.write(`See \`${this.config.bin} ${this.id?.replaceAll(':', ' ') ?? ''} --help\`.\n`.replace('  ', ' '))
    this.exit(exit)
  }

  /** ` --node NAME` for hints, when the node is not the default ('' when it cannot be told). */
  private nodeFlagForHints(): string {
    try {
      return this.flags ? this.manager.nodeFlag : ''
    } catch {
      return ''
    }
  }

  override async finally(err: Error | undefined): Promise<unknown> {
    this.rpc?.close()
    return super.finally(err)
  }
}

/**
 * Hints name the node when it is not the default: every \`meroctl …\` a message suggests (the
 * daemon's messages do not know which node flag brought the user there) gets \` --node NAME\`.
 */
export function withNodeFlag(message: string, nodeFlag: string): string {
  if (!nodeFlag) return message
  return message.replace(/`meroctl ([^`]*)`/g, (whole, cmd: string) => (/(^|\s)--node(\s|=|$)/.test(cmd) ? whole : `\`meroctl ${cmd}${nodeFlag}\``))
}

export function describeError(err: Error & { oclif?: { exit?: number } }): { message: string; kind: string; code?: number; exit: number; data?: Record<string, unknown> } {
  if (err instanceof RpcError) {
    const usage = err.code === -32602 || err.code === -32601 || err.code === -32600
    const { kind: _k, ...data } = err.data ?? {}
    return { message: err.message, kind: err.kind, code: err.code, exit: usage ? EXIT_USAGE : EXIT_FAILURE, data: Object.keys(data).length ? data : undefined }
  }
  if (isMeroError(err)) {
    return { message: err.message, kind: err.kind, code: err.code, exit: err.kind === 'InvalidInput' ? EXIT_USAGE : EXIT_FAILURE, data: err.details }
  }
  if (err instanceof TimeoutError) return { message: err.message, kind: 'Timeout', code: ERROR_KINDS.Timeout, exit: EXIT_FAILURE }
  if (err instanceof ConnectionError) return { message: err.message, kind: 'DaemonNotRunning', code: ERROR_KINDS.DaemonNotRunning, exit: EXIT_FAILURE }
  if (err instanceof Errors.CLIError) {
    const exit = err.oclif?.exit ?? EXIT_FAILURE
    const kind = (err as { kind?: ErrorKind }).kind ?? (exit === EXIT_USAGE ? 'UsageError' : 'Failed')
    return { message: err.message.replace(/\nSee more help with --help$/, ''), kind, code: ERROR_KINDS[kind], exit }
  }
  return { message: err.message || String(err), kind: 'Internal', code: ERROR_KINDS.Internal, exit: EXIT_FAILURE }
}

export { MeroError }
