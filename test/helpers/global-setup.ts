import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** End-to-end and command tests run the built daemon and CLI: make sure a build exists. */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  if (!existsSync(`${root}/dist/daemon/main.js`)) {
    throw new Error('dist/ is missing: run `npm run build` (npm install does it through `prepare`) before `npm test`')
  }
}
