#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs (or those named on the command line) in its
// own process, one after the other, and passes their JSON lines through to stdout.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
if (!existsSync(fileURLToPath(new URL('../dist/daemon/main.js', import.meta.url)))) {
  console.error('bench: dist/ is missing; run `npm run build` first')
  process.exit(1)
}
const wanted = process.argv.slice(2)
// long runs (ten minutes and more): only when named (`npm run bench soak`), without the time limit
const LONG = new Set(['soak.bench.mjs', 'scale.bench.mjs'])
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => (wanted.length === 0 ? !LONG.has(f) : wanted.some((w) => f.includes(w))))
  .sort()
let failed = 0
for (const f of files) {
  console.error(`bench: ${f}`)
  const r = spawnSync(process.execPath, [`${dir}/${f}`], { stdio: ['ignore', 'inherit', 'inherit'], timeout: LONG.has(f) ? undefined : 10 * 60_000 })
  if (r.status !== 0) {
    failed++
    console.error(`bench: ${f} failed (${r.status ?? r.signal})`)
  }
}
process.exit(failed ? 1 : 0)
