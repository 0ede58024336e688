import { Args } from '@oclif/core'
import { createReadStream, existsSync } from 'node:fs'
import { MeroCommand } from '../../client/base-command.js'
import { runBatch } from '../../client/batch.js'
import { MeroError } from '../../core/primitives/errors.js'
import { didYouMean } from '../../core/primitives/suggest.js'

/** The group commands a batch line may name, and the RPC method each is (the parameters are the same as the RPC's). */
const OPS: Record<string, string> = {
  'add-members': 'group.addMembers',
  'remove-members': 'group.removeMembers',
  'set-role': 'group.updateMemberRole',
  'set-capabilities': 'group.setMemberCapabilities',
  'set-default-capabilities': 'group.setDefaultCapabilities',
  'set-default-visibility': 'group.setDefaultVisibility',
  'set-alias': 'group.setAlias',
  'set-member-alias': 'group.setMemberAlias',
  'detach-context': 'group.detachContext',
  upgrade: 'group.upgrade',
  'create-invitation': 'group.createInvitation',
  members: 'group.members',
  get: 'group.get',
}

export default class GroupBatch extends MeroCommand<typeof GroupBatch> {
  static override summary = 'Script mode for governance: one group operation per JSON line, one JSON answer line per line, in order'
  static override description = `Each line is {"op": ..., "group": ..., ...the operation's parameters}, e.g. {"op":"add-members","group":"team","identities":["5Hd…"],"role":"member"}; the answer line is what the matching command prints with --json, or an error document. The batch never stops at an error; the exit code is 1 when any line failed. Lines travel over one connection, one after the other: each line sees the effect of the lines before it.
Operations: ${Object.keys(OPS).join(', ')}. The parameters are those of the RPC method (group, identities, identity, role, grant, revoke, visibility, alias, context, application, expiresInSecs).
Destructive operations (remove-members) are not asked about: a batch is for scripts.`
  static override examples = [
    `printf '%s\\n' '{"op":"add-members","group":"team","identities":["5Hd…x9"],"role":"member"}' | <%= config.bin %> group batch -`,
    '<%= config.bin %> group batch ops.ndjson > answers.ndjson',
  ]
  static override args = { file: Args.string({ description: "the file of JSON lines, or '-' for stdin", required: true }) }

  async run() {
    const file = this.args.file
    if (file !== '-' && !existsSync(file)) throw new MeroError('InvalidInput', `no file at ${file}`)
    this.streaming = true
    this.clientOptions.connections = 1
    const client = await this.client()
    const { failed } = await runBatch(client, file === '-' ? process.stdin : createReadStream(file), process.stdout, (line) => {
      const { op, ...params } = line
      if (typeof op !== 'string') throw new Error(`'op' must name an operation: ${Object.keys(OPS).join(', ')}`)
      const method = OPS[op]
      if (!method) throw new Error(`'${op}' is not a batch operation.${didYouMean(op, Object.keys(OPS))} The operations: ${Object.keys(OPS).join(', ')}`)
      return { method, params }
    }, { sequential: true })
    if (failed) process.exitCode = 1
    return undefined
  }
}
