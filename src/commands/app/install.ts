import { Args, Flags } from '@oclif/core'
import { existsSync, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { quietFlag } from '../../client/flags.js'
import { withSpinner } from '../../client/progress.js'
import { uploadWithProgress } from '../../client/upload.js'
import { renderApplication } from '../../client/views/context.js'
import { MeroError } from '../../core/primitives/errors.js'

export default class AppInstall extends MeroCommand<typeof AppInstall> {
  static override summary = 'Install an application: a signed bundle (.mpk, file or URL) or a bare .wasm (an unsigned development application)'
  static override description =
    'A bundle is verified before anything is installed: its signature, and the size and SHA-256 of every file its manifest names. Its application id comes from its package name and signer, so a newer version replaces the installed one. A bare .wasm installs as a development application whose id is the SHA-256 of the module.'
  static override examples = [
    '<%= config.bin %> app install apps/kv-store/build/kv-store.mpk --alias kv',
    '<%= config.bin %> app install https://example.com/notes-1.2.0.mpk',
    '<%= config.bin %> app install apps/kv-store/build/kv-store.wasm',
    'APP=$(<%= config.bin %> app install apps/kv-store/build/kv-store.mpk -q)',
  ]
  static override args = { source: Args.string({ description: 'the .mpk or .wasm file, or an http(s) URL the daemon downloads', required: true }) }
  static override flags = { alias: Flags.string({ description: 'a node-local alias for the application' }), quiet: quietFlag }

  async run() {
    const { source } = this.args
    const progress = !this.jsonEnabled()
    let params: { url: string } | { blobId: string; source: string }
    if (/^https?:\/\//i.test(source)) {
      params = { url: source }
    } else {
      const path = resolve(source)
      if (!existsSync(path) || !statSync(path).isFile()) throw new MeroError('InvalidInput', `no file at ${path}`)
      const blob = await uploadWithProgress(await this.client(), path, 'uploading', progress)
      params = { blobId: blob.blobId, source: basename(path) }
    }
    const label = 'url' in params ? 'downloading, validating and installing' : 'validating and installing'
    const app = await withSpinner(label, progress, () => this.call('app.install', { ...params, alias: this.flags.alias }))
    this.show(() => `Installed\n${renderApplication(app)}`, app.applicationId)
    return app
  }
}
