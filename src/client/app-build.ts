import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MeroError } from '../core/primitives/errors.js'
import { encodeCustomSection } from '../core/runtime/wasm-binary.js'

/**
 * Builds an AssemblyScript application: `<project>/assembly/index.ts` → wasm, with the SDK's abort
 * routing (a failed assertion becomes a `panic_utf8` naming its place), the stub runtime, and
 * `<project>/abi.json` (when present) embedded as the `mero_abi_v1` custom section. Used by
 * `meroctl app package` and by scripts/build-apps.mjs (the example apps, `npm install`).
 *
 * The compiler is the project's own `assemblyscript` when it has one (an app's devDependency),
 * else mero's; it is imported on use, never at meroctl's start.
 */
export const ABI_SECTION = 'mero_abi_v1'
/** The SDK shipped with mero (sdk/assemblyscript at the package's root). */
export const SDK_DIR = fileURLToPath(new URL('../../sdk/assemblyscript', import.meta.url))
export const COMPILER_FLAGS = ['-O3', '--runtime', 'stub']

export interface BuiltApp {
  wasm: Buffer
  /** The ABI file's JSON, compacted (what the custom section holds). */
  abi?: Buffer
}

/** Appends a custom section to a wasm module. */
export function withCustomSection(wasm: Uint8Array, name: string, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(wasm), encodeCustomSection(name, payload)])
}

/** An ABI file's JSON, compacted; a malformed file fails the build, naming it. */
export function readAbiFile(file: string): Buffer | undefined {
  if (!existsSync(file)) return undefined
  try {
    return Buffer.from(JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))), 'utf8')
  } catch (e) {
    throw new MeroError('InvalidInput', `${file} is not valid JSON: ${(e as Error).message}`)
  }
}

type Asc = { main(argv: string[], options: object): Promise<{ error: Error | null }> }

/** The project's own AssemblyScript compiler (node_modules above it), else mero's. */
async function compiler(projectDir: string): Promise<Asc> {
  for (let dir = resolve(projectDir); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules/assemblyscript/dist/asc.js')
    if (existsSync(candidate)) return ((await import(pathToFileURL(candidate).href)) as { default: Asc }).default
    if (dirname(dir) === dir) break
  }
  try {
    return ((await import('assemblyscript/asc')) as { default: Asc }).default
  } catch {
    throw new MeroError('InvalidInput', 'the AssemblyScript compiler is not installed: run `npm install --save-dev assemblyscript` in the app project')
  }
}

/** Compiles one AssemblyScript entry file to wasm (paths are absolute). */
export async function compileAssemblyScript(entry: string, options: { sdkDir?: string; baseDir?: string } = {}): Promise<Buffer> {
  const asc = await compiler(dirname(entry))
  const sdk = options.sdkDir ?? SDK_DIR
  // asc takes paths relative to its base directory, and they end up in the module (panic
  // locations): the deepest folder holding both the app and the SDK lets the app's relative
  // imports of the SDK resolve as written and gives the same module wherever the two sit
  const base = options.baseDir ?? commonAncestor(dirname(entry), sdk)
  const rel = (p: string) => relative(base, p)
  const abortHandler = `${rel(join(sdk, 'host'))}/abortHandler`
  let wasm: Buffer | undefined
  const stderr: string[] = []
  const { error } = await asc.main([rel(entry), '--outFile', 'out.wasm', ...COMPILER_FLAGS, '--use', `abort=${abortHandler}`, '--baseDir', base, '--noColors'], {
    writeFile: (name: string, contents: Uint8Array) => {
      if (name.endsWith('.wasm')) wasm = Buffer.from(contents)
    },
    stderr: { write: (s: string) => stderr.push(String(s)) },
    stdout: { write: () => {} },
  })
  if (error || !wasm) throw new MeroError('InvalidInput', `the AssemblyScript build of ${entry} failed:\n${stderr.join('')}${error ? error.message : ''}`)
  return wasm
}

function commonAncestor(a: string, b: string): string {
  const pa = resolve(a).split(sep)
  const pb = resolve(b).split(sep)
  let i = 0
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++
  return pa.slice(0, i).join(sep) || sep
}

/** Builds `<projectDir>/assembly/index.ts` with `<projectDir>/abi.json` embedded. */
export async function buildApp(projectDir: string, options: { sdkDir?: string } = {}): Promise<BuiltApp> {
  const entry = join(resolve(projectDir), 'assembly/index.ts')
  if (!existsSync(entry)) throw new MeroError('InvalidInput', `${projectDir} is not an AssemblyScript app: it has no assembly/index.ts`)
  const wasm = await compileAssemblyScript(entry, options)
  const abi = readAbiFile(join(resolve(projectDir), 'abi.json'))
  return { wasm: abi ? withCustomSection(wasm, ABI_SECTION, abi) : wasm, ...(abi ? { abi } : {}) }
}
