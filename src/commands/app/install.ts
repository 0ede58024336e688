import { Args, Flags } from '@oclif/core'
import { existsSync, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { withSpinner } from '../../client/progress.js'
import { uploadWithProgress } from '../../client/upload.js'
import { quietFlag } from '../../client/flags.js'
import { renderApplication, type ApplicationView } from '../../client/views/context.js'
import { MeroError } from '../../core/primitives/errors.js'

export default class AppInstall extends MeroCommand<typeof AppInstall> {
  static override summary = 'Install a wasm application; its id is the SHA-256 of the module'
  static override examples = ['<%= config.bin %> app install apps/kv-store/build/kv-store.wasm --alias kv']
  static override args = { file: Args.string({ description: 'the .wasm module', required: true }) }
  static override flags = { alias: Flags.string({ description: 'a node-local alias for the application' }), quiet: quietFlag }

  async run() {
    const path = resolve(this.args.file)
    if (!existsSync(path) || !statSync(path).isFile()) throw new MeroError('InvalidInput', `no file at ${path}`)
    const client = await this.client()
    const blob = await uploadWithProgress(client, path, 'uploading', !this.jsonEnabled())
    const app = await withSpinner('validating and installing', !this.jsonEnabled(), () => client.call<ApplicationView>('app.install', { blobId: blob.blobId, source: basename(path), alias: this.flags.alias }))
    this.show(() => `Installed\n${renderApplication(app)}`, app.applicationId)
    return app
  }
}
