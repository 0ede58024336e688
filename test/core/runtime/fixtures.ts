import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ContextState } from '../../../src/core/state/index.js'
import type { Store } from '../../../src/core/store/store.js'
// @ts-expect-error plain ESM build script without typings
import { buildApps, buildFixtures, FIXTURES_BUILD, ROOT } from '../../../scripts/build-apps.mjs'

let built: Promise<unknown> | undefined

/** Builds the apps and test modules (kept when up to date) once per test file. */
export function ensureBuilt(): Promise<unknown> {
  built ??= (async () => {
    await buildApps()
    await buildFixtures()
  })()
  return built
}

export function fixturePath(name: string): string {
  return join(FIXTURES_BUILD as string, `${name}.wasm`)
}

export function fixture(name: string): Buffer {
  return readFileSync(fixturePath(name))
}

export function kvStoreWasm(): Buffer {
  return readFileSync(join(ROOT as string, 'apps/kv-store/build/kv-store.wasm'))
}

/** The state of context number `n` in `store` (each test's contexts get numbers of their own). */
export function numberedState(store: Store, n: number): ContextState {
  const id = Buffer.alloc(32)
  id.writeUInt32BE(n, 0)
  return new ContextState(store, id)
}

export const CONTEXT_ID = Buffer.alloc(32, 0xc1)
export const EXECUTOR = Buffer.alloc(32, 0xe2)

export const json = (v: unknown) => Buffer.from(JSON.stringify(v))
export const parse = (b: Uint8Array) => (b.length ? JSON.parse(Buffer.from(b).toString('utf8')) : undefined)
