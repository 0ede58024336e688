import { createServer, type Server } from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/core/crypto/ed25519.js'
import { writeKeyFile } from '../../src/core/crypto/keyfile.js'
import { didKey } from '../../src/core/packages/manifest.js'
import { readTar } from '../../src/core/packages/tar.js'
import { ROOT, TestHome } from '../helpers/harness.js'
import { tarFile, tarGz } from '../helpers/tar.js'

/**
 * `meroctl app package` (build, sign with the node's key or a key file), `app install` of a bundle
 * (file or URL), `app list --packages`; and bad bundles refused with a clear error and nothing
 * installed.
 */
const KV_DIR = join(ROOT, 'apps/kv-store')
const KV_WASM = join(KV_DIR, 'build/kv-store.wasm')

describe('meroctl app package and signed bundles', () => {
  const t = new TestHome()
  let identity: string
  let server: Server
  let base: string
  beforeAll(async () => {
    identity = (await t.init()).identity
    await t.start()
    server = createServer((req, res) => {
      let body: Buffer
      try {
        body = readFileSync(join(t.home, decodeURIComponent(req.url!.slice(1))))
      } catch {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200).end(body)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((r) => server.close(r))
    await t.cleanup()
  })

  it('builds and signs a project with the node’s key; the bundle installs as a package; list --packages shows it', async () => {
    const out = join(t.home, 'kv-1.0.0.mpk')
    const built = await t.json(['app', 'package', KV_DIR, '--package', 'com.example.kv', '--app-version', '1.0.0', '-o', out, '--name', 'KV store'], { timeoutMs: 60_000 })
    const { fromBase58 } = await import('../../src/core/primitives/encoding.js')
    expect(built).toMatchObject({ bundle: out, package: 'com.example.kv', version: '1.0.0', signer: didKey(fromBase58(identity)) })
    const files = readTar(gunzipSync(readFileSync(out)), { maxFiles: 10, maxBytes: 1 << 26 })
    expect([...files.keys()]).toEqual(['manifest.json', 'app.wasm', 'abi.json'])
    expect(JSON.parse(files.get('manifest.json')!.toString())).toMatchObject({ package: 'com.example.kv', appVersion: '1.0.0', metadata: { name: 'KV store' } })
    // the module built is the one npm install builds
    expect(files.get('app.wasm')).toEqual(readFileSync(KV_WASM))

    const human = await t.cli(['app', 'install', out, '--alias', 'kvp'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/kind\s+package/)
    expect(human.stdout).toMatch(/package\s+com\.example\.kv 1\.0\.0/)
    const app = await t.json(['app', 'get', 'kvp'])
    expect(app).toMatchObject({ applicationId: built.applicationId, kind: 'package', version: '1.0.0', signer: built.signer, source: 'kv-1.0.0.mpk' })
    expect((await t.json(['app', 'list', '--packages'])).packages).toEqual([expect.objectContaining({ package: 'com.example.kv', version: '1.0.0', signer: built.signer, applicationId: built.applicationId, alias: 'kvp' })])
    expect((await t.cli(['app', 'list', '--packages'])).stdout).toMatch(/com\.example\.kv\s+.*1\.0\.0/)
  })

  it('a bare .wasm installs as an unsigned development application, marked so in the list', async () => {
    const dev = await t.json(['app', 'install', KV_WASM])
    expect(dev.kind).toBe('development')
    expect((await t.cli(['app', 'list', '--wide'])).stdout).toMatch(/development \(unsigned\)/)
    expect((await t.json(['app', 'list', '--packages'])).packages.map((p: { applicationId: string }) => p.applicationId)).not.toContain(dev.applicationId)
  })

  it('signs with a given key file, and installs a newer version from a URL in place of the older', async () => {
    const keyFile = join(t.home, 'release.key')
    const key = generateKeyPair()
    writeKeyFile(keyFile, key)
    const v1 = await t.json(['app', 'package', KV_DIR, '--package', 'com.example.notes', '--app-version', '1.0.0', '--key', keyFile, '--wasm', KV_WASM, '-o', join(t.home, 'notes-1.mpk')])
    const v2 = await t.json(['app', 'package', KV_DIR, '--package', 'com.example.notes', '--app-version', '1.1.0', '--key', keyFile, '--wasm', join(ROOT, 'test/fixtures/wasm/build/as-collections.wasm'), '-o', join(t.home, 'notes-2.mpk')])
    expect(v1.signer).toBe(didKey(key.publicKey))
    expect(v2.applicationId).toBe(v1.applicationId)
    await t.json(['app', 'install', `${base}/notes-1.mpk`])
    const upgraded = await t.json(['app', 'install', `${base}/notes-2.mpk`])
    expect(upgraded).toMatchObject({ applicationId: v1.applicationId, version: '1.1.0', previousVersions: ['1.0.0'], source: `${base}/notes-2.mpk` })
    const older = await t.cli(['app', 'install', join(t.home, 'notes-1.mpk'), '--json'])
    expect(older.code).toBe(1)
    expect(JSON.parse(older.stdout).error).toMatchObject({ kind: 'Conflict', message: expect.stringMatching(/older than the installed 1\.1\.0/) })
    const missing = await t.cli(['app', 'install', `${base}/nothing.mpk`, '--json'])
    expect(JSON.parse(missing.stdout).error.message).toMatch(/answered HTTP 404/)
  })

  it('refuses a bundle with a wrong signature, a wrong hash, a manifest over 1 MiB or a path outside the archive, and installs nothing', async () => {
    const good = readTar(gunzipSync(readFileSync(join(t.home, 'kv-1.0.0.mpk'))), { maxFiles: 10, maxBytes: 1 << 26 })
    const manifest = JSON.parse(good.get('manifest.json')!.toString())
    const wasm = good.get('app.wasm')!
    const abi = good.get('abi.json')!
    const cases: [string, Buffer, RegExp][] = [
      ['signature', tarGz(tarFile('manifest.json', Buffer.from(JSON.stringify({ ...manifest, appVersion: '6.6.6' }))), tarFile('app.wasm', wasm), tarFile('abi.json', abi)), /signature does not verify/],
      ['hash', tarGz(tarFile('manifest.json', good.get('manifest.json')!), tarFile('app.wasm', Buffer.concat([wasm.subarray(0, -1), Buffer.from([wasm[wasm.length - 1]! ^ 1])])), tarFile('abi.json', abi)), /'app.wasm' hashes to .*; the manifest says/],
      ['manifest', tarGz(tarFile('manifest.json', Buffer.alloc(1024 * 1024 + 1, 0x20)), tarFile('app.wasm', wasm)), /manifest.json is 1048577 bytes, more than the 1048576 allowed/],
      ['path', tarGz(tarFile('manifest.json', good.get('manifest.json')!), tarFile('app.wasm', wasm), tarFile('abi.json', abi), tarFile('../../outside', Buffer.from('x'))), /'..\/..\/outside' points outside the archive/],
    ]
    const apps = (await t.json(['app', 'list'])).applications.length
    const blobs = (await t.json(['blob', 'list'])).blobs.length
    for (const [name, bytes, message] of cases) {
      const file = join(t.home, `bad-${name}.mpk`)
      writeFileSync(file, bytes)
      const r = await t.cli(['app', 'install', file, '--json'])
      expect(r.code, name).toBe(1)
      expect(JSON.parse(r.stdout).error, name).toMatchObject({ kind: 'InvalidPackage', message: expect.stringMatching(message) })
      // oclif wraps long messages: read them as one line
      const human = await t.cli(['app', 'install', file])
      expect(human.stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' '), name).toMatch(message)
    }
    expect((await t.json(['app', 'list'])).applications).toHaveLength(apps)
    expect((await t.json(['blob', 'list'])).blobs).toHaveLength(blobs)
  })

  it('explains what is missing: a project without an entry file, a package without a version', async () => {
    const empty = await t.cli(['app', 'package', t.home, '--package', 'x.y', '--app-version', '1.0.0', '--json'])
    expect(JSON.parse(empty.stdout).error.message).toMatch(/has no assembly\/index\.ts/)
    const noVersion = await t.cli(['app', 'package', KV_DIR, '--package', 'x.y', '--wasm', KV_WASM, '--json'])
    expect(JSON.parse(noVersion.stdout).error.message).toMatch(/give the version with --app-version/)
  })
})
