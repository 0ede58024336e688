#!/usr/bin/env node
// Builds the example apps (apps/<name>/assembly/index.ts → apps/<name>/build/<name>.wasm, with
// apps/<name>/abi.json embedded as the "mero_abi_v1" custom section) and the test-only wasm
// modules (test/fixtures/wasm/*.wat and *.ts → test/fixtures/wasm/build/), with the project's own
// devDependencies (assemblyscript, wabt) and no network. Outputs newer than their inputs are kept.
// Usage: node scripts/build-apps.mjs [--force]
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const ABI_SECTION = 'mero_abi_v1'
// the build itself lives in the CLI (dist/client/app-build.js, built before this runs): one copy
const appBuild = () => import('../dist/client/app-build.js')
const SDK_DIR = join(ROOT, 'sdk/assemblyscript')
export const FIXTURES_DIR = join(ROOT, 'test/fixtures/wasm')
export const FIXTURES_BUILD = join(FIXTURES_DIR, 'build')

function newestMtime(paths) {
  let t = 0
  for (const p of paths) {
    if (!existsSync(p)) continue
    const s = statSync(p)
    if (s.isDirectory()) t = Math.max(t, newestMtime(readdirSync(p).map((f) => join(p, f))))
    else if (!p.endsWith('.md')) t = Math.max(t, s.mtimeMs)
  }
  return t
}

const upToDate = (out, inputs, force) => !force && existsSync(out) && statSync(out).mtimeMs >= newestMtime(inputs)

let wabtPromise
/** WAT text → wasm bytes (wabt's JS API). */
export async function watToWasm(file) {
  wabtPromise ??= import('wabt').then((m) => m.default())
  const wabt = await wabtPromise
  const mod = wabt.parseWat(basename(file), readFileSync(file, 'utf8'), { multi_value: true, bulk_memory: true, sign_extension: true, exceptions: true, simd: true, tail_call: true, reference_types: true })
  try {
    return Buffer.from(mod.toBinary({}).buffer)
  } finally {
    mod.destroy()
  }
}

/** AssemblyScript entry → wasm bytes, with the SDK's abort routing and the stub runtime (as `meroctl app package` builds). */
export async function assemblyScriptToWasm(entry) {
  const { compileAssemblyScript } = await appBuild()
  return compileAssemblyScript(entry, { baseDir: ROOT })
}

// Written under a temporary name, then renamed: a concurrent reader (a parallel test file) never
// sees half a module.
function write(out, bytes) {
  mkdirSync(dirname(out), { recursive: true })
  const tmp = `${out}.${process.pid}.tmp`
  writeFileSync(tmp, bytes)
  renameSync(tmp, out)
}

export async function buildApps({ force = false, log = () => {} } = {}) {
  const appsDir = join(ROOT, 'apps')
  if (!existsSync(appsDir)) return []
  const built = []
  for (const name of readdirSync(appsDir)) {
    const entry = join(appsDir, name, 'assembly/index.ts')
    if (!existsSync(entry)) continue
    const out = join(appsDir, name, 'build', `${name}.wasm`)
    const abiFile = join(appsDir, name, 'abi.json')
    if (!upToDate(out, [join(appsDir, name, 'assembly'), abiFile, SDK_DIR, fileURLToPath(import.meta.url)], force)) {
      await writeModule(out, await assemblyScriptToWasm(entry), abiFile, log)
    }
    built.push(out)
  }
  return built
}

/** Embeds the ABI section (when an ABI file exists) and writes the module. */
async function writeModule(out, wasm, abiFile, log) {
  const { readAbiFile, withCustomSection } = await appBuild()
  const abi = readAbiFile(abiFile)
  const bytes = abi ? withCustomSection(wasm, ABI_SECTION, abi) : wasm
  write(out, bytes)
  log(`built ${out.slice(ROOT.length)} (${bytes.length} bytes)`)
}

export async function buildFixtures({ force = false, log = () => {} } = {}) {
  if (!existsSync(FIXTURES_DIR)) return []
  const built = []
  for (const file of readdirSync(FIXTURES_DIR)) {
    const src = join(FIXTURES_DIR, file)
    const stem = file.replace(/\.(wat|ts|bin)$/, '')
    if (stem === file || file.endsWith('.d.ts')) continue
    const out = join(FIXTURES_BUILD, `${stem}.wasm`)
    const abiFile = join(FIXTURES_DIR, `${stem}.abi.json`)
    const inputs = [src, abiFile, fileURLToPath(import.meta.url), ...(file.endsWith('.ts') ? [SDK_DIR] : [])]
    if (!upToDate(out, inputs, force)) {
      const wasm = file.endsWith('.wat') ? await watToWasm(src) : file.endsWith('.ts') ? await assemblyScriptToWasm(src) : readFileSync(src)
      await writeModule(out, wasm, abiFile, log)
    }
    built.push(out)
  }
  return built
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force')
  const log = (m) => console.error(`build-apps: ${m}`)
  try {
    await buildApps({ force, log })
    await buildFixtures({ force, log })
  } catch (e) {
    console.error(`build-apps: ${e.message}`)
    process.exit(1)
  }
}
