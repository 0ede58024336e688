import { Args, Flags } from '@oclif/core'
import { resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { keyValue } from '../../client/render.js'

export default class AppPackage extends MeroCommand<typeof AppPackage> {
  static override summary = 'Build an AssemblyScript app and sign it into a bundle (.mpk) with the node’s key or a given one'
  static override description =
    'Builds <dir>/assembly/index.ts (with <dir>/abi.json embedded) unless --wasm names a module, writes a manifest naming the package, its version, the signer and the module’s SHA-256 and size, signs it (Ed25519) and packs the lot as a tar.gz. The application id comes from the package name and the signer: keep the key to publish later versions. No daemon is needed.'
  static override examples = [
    '<%= config.bin %> app package apps/kv-store --package com.example.kv-store --app-version 1.0.0',
    '<%= config.bin %> app package . --key ./release.key -o dist/notes.mpk',
  ]
  static override args = { dir: Args.string({ description: 'the app project (with assembly/index.ts and abi.json)', default: '.' }) }
  static override flags = {
    package: Flags.string({ description: 'package name, e.g. com.example.notes [default: "mero.package" or "name" of the project’s package.json]' }),
    'app-version': Flags.string({ description: 'semantic version of this release [default: "version" of the project’s package.json]' }),
    key: Flags.string({ description: 'the signing key: a mero key file (as identity.key) [default: the node’s identity.key]' }),
    wasm: Flags.string({ description: 'package this module instead of building the project' }),
    output: Flags.string({ char: 'o', description: 'where to write the bundle [default: <dir>/build/<package>-<version>.mpk]' }),
    name: Flags.string({ description: 'a display name for the manifest’s metadata' }),
    description: Flags.string({ description: 'a description for the manifest’s metadata' }),
    force: Flags.boolean({ description: 'overwrite the output file if it exists' }),
  }

  async run() {
    const keyFile = this.flags.key ? resolve(this.flags.key) : this.manager.home.identityKey
    const { packageApp } = await import('../../client/app-package.js')
    const result = await packageApp({ dir: this.args.dir, keyFile, package: this.flags.package, version: this.flags['app-version'], wasm: this.flags.wasm, output: this.flags.output, name: this.flags.name, description: this.flags.description, force: this.flags.force })
    this.out(keyValue([['bundle', result.bundle], ['package', `${result.package} ${result.version}`], ['application', result.applicationId], ['signer', result.signer], ['module', result.moduleId], ['size', `${result.size} bytes`]]))
    return result
  }
}
