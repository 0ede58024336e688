import { beforeAll, describe, expect, it } from 'vitest'
import { MeroError } from '../../../src/core/primitives/errors.js'
import { sha256 } from '../../../src/core/primitives/hash.js'
import { ABI_SECTION, encodeCustomSection, validateModule } from '../../../src/core/runtime/index.js'
import { ensureBuilt, fixture, kvStoreWasm } from './fixtures.js'

async function invalid(bytes: Uint8Array, message: RegExp, options?: Parameters<typeof validateModule>[1]) {
  const err = await validateModule(bytes, options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(MeroError)
  expect((err as MeroError).kind).toBe('InvalidModule')
  expect((err as MeroError).message).toMatch(message)
}

const withAbi = (wasm: Uint8Array, text: string) => Buffer.concat([wasm, encodeCustomSection(ABI_SECTION, Buffer.from(text))])

describe('validateModule', () => {
  beforeAll(() => ensureBuilt(), 120_000)

  it('accepts kv-store: application id, entry points and the ABI section', async () => {
    const bytes = kvStoreWasm()
    const v = await validateModule(bytes)
    expect(v.applicationId.equals(sha256(bytes))).toBe(true)
    expect(v.entryPoints.sort()).toEqual(['clear', 'entries', 'get', 'init', 'len', 'remove', 'set'])
    expect(v.abi?.methods.filter((m) => m.readOnly).map((m) => m.name)).toEqual(['get', 'entries', 'len'])
    expect(v.abi?.events?.length).toBe(4)
    expect(v.maxMemoryPages).toBe(1024)
    expect(WebAssembly.validate(v.instrumented)).toBe(true)
  })

  it('refuses a file that is not wasm', () => invalid(fixture('not-wasm'), /not a WebAssembly module/))
  it('refuses bytes with the magic number but no valid module', () =>
    invalid(Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff]), /not valid WebAssembly/))
  it('refuses an unknown host function, naming it', () => invalid(fixture('imports-unknown-function'), /unknown host function 'env\.fetch'/))
  it('refuses imports from another module', () => invalid(fixture('imports-other-module'), /wasi_snapshot_preview1\.fd_write.*module "env"/))
  it('refuses an imported memory', () => invalid(fixture('imports-memory'), /imports its memory/))
  it('refuses a _start export', () => invalid(fixture('exports-start'), /_start/))
  it('refuses a module that does not export memory', () => invalid(fixture('no-memory-export'), /export its memory/))
  it('refuses a host import with the wrong signature', () => invalid(fixture('wrong-signature'), /env\.log_utf8.*\(i32\).*\(i64\)/))
  it('refuses an initial memory above the page limit', () => invalid(fixture('huge-initial-memory'), /2000 pages.*1024/))
  it('refuses an instruction the metering cannot handle, naming it', () => invalid(fixture('uses-exceptions'), /cannot meter \(Try\)/))
  it('refuses a module over the size cap', () => invalid(kvStoreWasm(), /more than the 1000 allowed/, { maxModuleBytes: 1000 }))

  it('refuses a malformed ABI section', async () => {
    const bare = fixture('as-edge-cases') // an AssemblyScript module without an ABI section
    await invalid(withAbi(bare, '{not json'), /not valid UTF-8 JSON/)
    await invalid(withAbi(bare, '{"methods":[{"name":"bad name"}]}'), /methods\.0\.name/)
    await invalid(withAbi(bare, '{"methods":[{"name":"collections"},{"name":"collections"}]}'), /'collections' twice/)
    await invalid(withAbi(fixture('edge-cases'), '{"methods":[]}'), /2 'mero_abi_v1' custom sections/)
  })

  it('refuses migrations that name an undeclared method or do not come from an older state version', async () => {
    const bare = fixture('as-edge-cases')
    await invalid(withAbi(bare, '{"stateVersion":2,"migrations":[{"from":1,"method":"absent"}],"methods":[{"name":"json_echo"}]}'), /migration method 'absent', which it does not declare/)
    await invalid(withAbi(bare, '{"stateVersion":2,"migrations":[{"from":2,"method":"json_echo"}],"methods":[{"name":"json_echo"}]}'), /migration from state version 2, not older than its stateVersion 2/)
    await invalid(withAbi(bare, '{"stateVersion":0,"methods":[]}'), /stateVersion/)
    await invalid(withAbi(bare, '{"methods":[{"name":"json_echo","xcall":"yes"}]}'), /methods\.0\.xcall/)
  })

  it('refuses an ABI that declares a method the module does not export', () =>
    invalid(withAbi(fixture('as-edge-cases'), '{"methods":[{"name":"missing"}]}'), /declares method 'missing'/))
})
