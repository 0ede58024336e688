import { Args, Flags } from '@oclif/core'
import { createReadStream, existsSync } from 'node:fs'
import { MeroCommand } from '../client/base-command.js'
import { runBatch } from '../client/batch.js'
import { parseTimeout } from '../client/duration.js'
import { parseJsonFlag } from '../client/json-args.js'
import { style } from '../client/render.js'
import { renderEvents, renderValue } from '../client/views/context.js'
import { MeroError } from '../core/primitives/errors.js'

export default class Call extends MeroCommand<typeof Call> {
  static override summary = "Call a method of a context's application"
  static override description = `Prints the result readably, then the events the call emitted. --json prints {result, events, rootHash}.
Script mode: --batch FILE (- for stdin) reads one JSON object per line, {"context": ..., "method": ..., "args": {...}}, and writes one JSON line per input line, in order: what \`call --json\` prints for it, errors included; the batch never stops at an error. The calls travel over one connection, a few hundred per request. The exit code is 1 when any call failed.
--timeout bounds the wait for an answer (the daemon may still complete the call).`
  static override examples = [
    `<%= config.bin %> call notes set --args '{"key":"a","value":"1"}'`,
    '<%= config.bin %> call notes entries --json',
    `printf '%s\\n' '{"context":"notes","method":"set","args":{"key":"a","value":"1"}}' | <%= config.bin %> call --batch -`,
    '<%= config.bin %> call notes entries --timeout 5s',
  ]
  static override args = {
    context: Args.string({ description: 'context id or alias (not with --batch)', ignoreStdin: true }),
    method: Args.string({ description: 'the method to call (not with --batch)', ignoreStdin: true }),
  }
  static override flags = {
    args: Flags.string({ description: 'JSON object of named arguments', default: '{}' }),
    batch: Flags.string({ char: 'b', description: 'script mode: one call per JSON line of this file (- for stdin)', helpValue: 'FILE|-' }),
    timeout: Flags.string({ description: 'give up waiting for an answer after this long (500ms, 5s, 2m)' }),
  }

  async run() {
    if (this.flags.timeout) this.clientOptions.timeoutMs = parseTimeout(this.flags.timeout)
    if (this.flags.batch !== undefined) return this.batch(this.flags.batch)
    if (!this.args.context || !this.args.method) throw new MeroError('InvalidInput', 'name the context and the method (`meroctl call <context> <method>`), or pass --batch FILE')
    const args = parseJsonFlag(this.flags.args, '--args')
    const r = await this.call('context.execute', { context: this.args.context, method: this.args.method, args })
    if (!this.jsonEnabled()) {
      this.log(renderValue(r.result))
      if (r.events.length) this.log(style.dim(renderEvents(r.events)))
    }
    return r
  }

  private async batch(file: string) {
    if (this.args.context) throw new MeroError('InvalidInput', '--batch reads the context and method from each line; pass no arguments with it')
    if (file !== '-' && !existsSync(file)) throw new MeroError('InvalidInput', `no file at ${file}`)
    this.streaming = true
    this.clientOptions.connections = 1
    const client = await this.client()
    const { lines, failed } = await runBatch(client, file === '-' ? process.stdin : createReadStream(file), process.stdout, (line) => {
      const { context, method, args, ...rest } = line
      const unknown = Object.keys(rest)
      if (unknown.length) throw new Error(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (a line holds context, method and args)`)
      if (typeof context !== 'string' || !context) throw new Error("'context' must be a context id or alias")
      if (typeof method !== 'string' || !method) throw new Error("'method' must be a method name")
      return { method: 'context.execute', params: { context, method, args: args ?? {} } }
    })
    if (failed) process.exitCode = 1
    if (process.stderr.isTTY) process.stderr.write(`${lines} call${lines === 1 ? '' : 's'}, ${failed} failed\n`)
    // the answers were written line by line
    return undefined
  }
}
