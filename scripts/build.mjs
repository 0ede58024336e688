#!/usr/bin/env node
// The project's build (`npm run build`, run by `npm install` through `prepare`):
// TypeScript → dist/, the oclif manifest (keeps meroctl's start fast), man pages, and the
// example apps and test wasm modules when their build script is present.
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const node = process.execPath

function step(name, args) {
  const started = Date.now()
  // the oclif dev tool otherwise checks the registry for a newer version of itself
  const r = spawnSync(node, args, { cwd: root, stdio: 'inherit', env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' } })
  if (r.status !== 0) {
    console.error(`build: ${name} failed`)
    process.exit(r.status ?? 1)
  }
  console.error(`build: ${name} (${Date.now() - started} ms)`)
}

if (process.argv.includes('--clean')) rmSync(`${root}/dist`, { recursive: true, force: true })
step('typescript', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])
rmSync(`${root}/oclif.manifest.json`, { force: true })
step('oclif manifest', ['node_modules/oclif/bin/run.js', 'manifest'])
step('man pages', ['scripts/man.mjs'])
if (existsSync(`${root}/scripts/build-apps.mjs`)) step('apps', ['scripts/build-apps.mjs'])
