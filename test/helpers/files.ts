import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Every file under the folders (recursively), by path, with the SHA-256 of its bytes. */
export function fileHashes(...dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[p] = createHash('sha256').update(readFileSync(p)).digest('hex')
    }
  }
  for (const d of dirs) walk(d)
  return out
}

/** The files under the folders whose bytes contain `needle` (a raw search of the disk's view). */
export function filesHolding(needle: string | Uint8Array, ...dirs: string[]): string[] {
  return Object.keys(fileHashes(...dirs)).filter((f) => readFileSync(f).includes(needle))
}
