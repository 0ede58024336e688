import { Args, Flags } from '@oclif/core'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { keyValue } from '../../client/render.js'
import { MeroError } from '../../core/primitives/errors.js'
import { resolveNodeHome } from '../../home/paths.js'

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
    const dir = resolve(this.args.dir)
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MeroError('InvalidInput', `no directory at ${dir}`)
    const project = readProject(dir)
    const pkg = this.flags.package ?? project.package
    const version = this.flags['app-version'] ?? project.version
    if (!pkg) throw new MeroError('InvalidInput', 'give the package name with --package (or "mero": {"package": …} in the project’s package.json)')
    if (!version) throw new MeroError('InvalidInput', 'give the version with --app-version (or "version" in the project’s package.json)')
    const keyPath = this.flags.key ? resolve(this.flags.key) : resolveNodeHome(this.flags.home, this.flags.node).identityKey
    // heavier pieces only now: the compiler, libsodium, zlib
    const [{ readKeyFile }, { buildBundle, readBundle }, { buildApp, readAbiFile }, { toBase58 }, { sha256 }] = await Promise.all([
      import('../../core/crypto/keyfile.js'),
      import('../../core/packages/bundle.js'),
      import('../../client/app-build.js'),
      import('../../core/primitives/encoding.js'),
      import('../../core/primitives/hash.js'),
    ])
    const key = readKeyFile(keyPath)
    const built = this.flags.wasm ? { wasm: readModule(resolve(this.flags.wasm)), abi: readAbiFile(join(dir, 'abi.json')) } : await buildApp(dir)
    const metadata = this.flags.name || this.flags.description ? { ...(this.flags.name ? { name: this.flags.name } : {}), ...(this.flags.description ? { description: this.flags.description } : {}) } : undefined
    const bytes = buildBundle({ package: pkg, version, wasm: built.wasm, ...(built.abi ? { abi: built.abi } : {}), ...(metadata ? { metadata } : {}) }, key)
    const bundle = readBundle(bytes) // what an installing node will check, checked here first
    const out = resolve(this.flags.output ?? join(dir, 'build', `${pkg}-${version}.mpk`))
    if (existsSync(out) && !this.flags.force) throw new MeroError('InvalidInput', `${out} exists; pass --force to overwrite it`)
    mkdirSync(dirname(out), { recursive: true })
    const tmp = `${out}.${process.pid}.tmp`
    writeFileSync(tmp, bytes)
    renameSync(tmp, out)
    const result = {
      bundle: out,
      package: pkg,
      version,
      applicationId: toBase58(bundle.applicationId),
      signer: bundle.manifest.signerId,
      moduleId: toBase58(sha256(bundle.wasm)),
      size: bytes.length,
    }
    this.out(keyValue([['bundle', out], ['package', `${pkg} ${version}`], ['application', result.applicationId], ['signer', result.signer], ['module', result.moduleId], ['size', `${bytes.length} bytes`]]))
    return result
  }
}

/** The project's package.json: "mero": {"package"} or "name", and "version". */
function readProject(dir: string): { package?: string; version?: string } {
  const file = join(dir, 'package.json')
  if (!existsSync(file)) return {}
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; mero?: { package?: string } }
    return { package: p.mero?.package ?? p.name, version: p.version }
  } catch (e) {
    throw new MeroError('InvalidInput', `${file} is not valid JSON: ${(e as Error).message}`)
  }
}

function readModule(path: string): Buffer {
  if (!existsSync(path) || !statSync(path).isFile()) throw new MeroError('InvalidInput', `no file at ${path}`)
  return readFileSync(path)
}
