import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { MeroError } from '../core/primitives/errors.js'

export interface PackageOptions {
  /** The app project (assembly/index.ts and abi.json). */
  dir: string
  /** The signing key file (a mero key file, as identity.key). */
  keyFile: string
  package?: string
  version?: string
  /** Package this module instead of building the project. */
  wasm?: string
  output?: string
  name?: string
  description?: string
  force?: boolean
}

export interface PackagedApp {
  bundle: string
  package: string
  version: string
  applicationId: string
  signer: string
  moduleId: string
  size: number
}

/**
 * `meroctl app package`: builds an AssemblyScript app (unless a module is given), writes its
 * manifest, signs it and packs the bundle (.mpk), checked as an installing node will check it.
 * The compiler, libsodium and zlib load only here.
 */
export async function packageApp(opts: PackageOptions): Promise<PackagedApp> {
  const dir = resolve(opts.dir)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MeroError('InvalidInput', `no directory at ${dir}`)
  const project = readProject(dir)
  const pkg = opts.package ?? project.package
  const version = opts.version ?? project.version
  if (!pkg) throw new MeroError('InvalidInput', 'give the package name with --package (or "mero": {"package": …} in the project’s package.json)')
  if (!version) throw new MeroError('InvalidInput', 'give the version with --app-version (or "version" in the project’s package.json)')
  const [{ readKeyFile }, { buildBundle, readBundle }, { buildApp, readAbiFile }, { toBase58 }, { sha256 }] = await Promise.all([
    import('../core/crypto/keyfile.js'),
    import('../core/packages/bundle.js'),
    import('./app-build.js'),
    import('../core/primitives/encoding.js'),
    import('../core/primitives/hash.js'),
  ])
  const key = readKeyFile(opts.keyFile)
  const built = opts.wasm ? { wasm: readModule(resolve(opts.wasm)), abi: readAbiFile(join(dir, 'abi.json')) } : await buildApp(dir)
  const metadata = opts.name || opts.description ? { ...(opts.name ? { name: opts.name } : {}), ...(opts.description ? { description: opts.description } : {}) } : undefined
  const bytes = buildBundle({ package: pkg, version, wasm: built.wasm, ...(built.abi ? { abi: built.abi } : {}), ...(metadata ? { metadata } : {}) }, key)
  const bundle = readBundle(bytes) // what an installing node will check, checked here first
  const out = resolve(opts.output ?? join(dir, 'build', `${pkg}-${version}.mpk`))
  if (existsSync(out) && !opts.force) throw new MeroError('InvalidInput', `${out} exists; pass --force to overwrite it`)
  mkdirSync(dirname(out), { recursive: true })
  const tmp = `${out}.${process.pid}.tmp`
  writeFileSync(tmp, bytes)
  renameSync(tmp, out)
  return {
    bundle: out,
    package: pkg,
    version,
    applicationId: toBase58(bundle.applicationId),
    signer: bundle.manifest.signerId,
    moduleId: toBase58(sha256(bundle.wasm)),
    size: bytes.length,
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
