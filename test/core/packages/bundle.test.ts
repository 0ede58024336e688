import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/core/crypto/ed25519.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'
import { buildBundle, readBundle } from '../../../src/core/packages/bundle.js'
import { canonicalJson } from '../../../src/core/packages/canonical-json.js'
import { compareVersions, didKey, packageApplicationId, publicKeyOfDid, signingDigest } from '../../../src/core/packages/manifest.js'
import { readTar, writeTar } from '../../../src/core/packages/tar.js'
import { tarFile, tarGz, tarHeader } from '../../helpers/tar.js'

/** Signed bundles (.mpk): what is accepted, and every way a bad one is refused. */
const key = generateKeyPair()
const wasm = Buffer.from('\0asm\x01\0\0\0 pretend module', 'latin1')
const good = () => buildBundle({ package: 'com.example.notes', version: '1.2.0', wasm, abi: Buffer.from('{"methods":[]}'), metadata: { name: 'Notes' } }, key, '2026-01-01T00:00:00.000Z')

const header = tarHeader
const archive = tarGz
const file = tarFile
/** The good bundle's files, to rebuild with one thing changed. */
const parts = () => readTar(gunzipSync(good()), { maxFiles: 10, maxBytes: 1 << 20 })

function refused(bytes: Buffer, pattern: RegExp): void {
  let error: unknown
  try {
    readBundle(bytes)
  } catch (e) {
    error = e
  }
  expect(isMeroError(error, 'InvalidPackage'), `expected InvalidPackage, got ${String(error)}`).toBe(true)
  expect((error as Error).message).toMatch(pattern)
}

describe('bundles', () => {
  it('a bundle built and signed reads back: manifest, module, ABI, and an application id from package and signer', () => {
    const b = readBundle(good())
    expect(b.manifest).toMatchObject({ version: '1.0', package: 'com.example.notes', appVersion: '1.2.0', signerId: didKey(key.publicKey), metadata: { name: 'Notes' }, wasm: { path: 'app.wasm', size: wasm.length } })
    expect(b.wasm).toEqual(wasm)
    expect(b.abi?.toString()).toBe('{"methods":[]}')
    expect(b.applicationId).toEqual(packageApplicationId('com.example.notes', key.publicKey))
    expect(publicKeyOfDid(b.manifest.signerId)).toEqual(key.publicKey)
    // every version of the package by this signer is the same application; another signer's is not
    const v2 = readBundle(buildBundle({ package: 'com.example.notes', version: '2.0.0', wasm: Buffer.from('other') }, key))
    expect(v2.applicationId).toEqual(b.applicationId)
    expect(readBundle(buildBundle({ package: 'com.example.notes', version: '1.2.0', wasm }, generateKeyPair())).applicationId).not.toEqual(b.applicationId)
  })

  it('refuses a wrong signature: a manifest changed after signing, or signed by another key', () => {
    const p = parts()
    const manifest = JSON.parse(p.get('manifest.json')!.toString())
    const changed = { ...manifest, appVersion: '9.9.9' }
    refused(archive(file('manifest.json', Buffer.from(JSON.stringify(changed))), file('app.wasm', p.get('app.wasm')!), file('abi.json', p.get('abi.json')!)), /signature does not verify/)
    const other = generateKeyPair()
    const forged = { ...manifest, signature: { ...manifest.signature, publicKey: Buffer.from(other.publicKey).toString('base64url') } }
    refused(archive(file('manifest.json', Buffer.from(JSON.stringify(forged))), file('app.wasm', p.get('app.wasm')!), file('abi.json', p.get('abi.json')!)), /signed with a key that is not its signer/)
    const bad = { ...manifest, signature: { ...manifest.signature, signature: Buffer.alloc(64, 7).toString('base64url') } }
    refused(archive(file('manifest.json', Buffer.from(JSON.stringify(bad))), file('app.wasm', p.get('app.wasm')!), file('abi.json', p.get('abi.json')!)), /signature does not verify/)
  })

  it('refuses a module or ABI whose hash or size is not the manifest’s, or that is missing', () => {
    const p = parts()
    const other = Buffer.from(p.get('app.wasm')!)
    other[other.length - 1]! ^= 1
    refused(archive(file('manifest.json', p.get('manifest.json')!), file('app.wasm', other), file('abi.json', p.get('abi.json')!)), /'app.wasm' hashes to [0-9a-f]{64}; the manifest says [0-9a-f]{64}/)
    refused(archive(file('manifest.json', p.get('manifest.json')!), file('app.wasm', Buffer.concat([other, Buffer.from('x')])), file('abi.json', p.get('abi.json')!)), /'app.wasm' is \d+ bytes; the manifest says \d+/)
    refused(archive(file('manifest.json', p.get('manifest.json')!), file('app.wasm', p.get('app.wasm')!)), /names the ABI 'abi.json', which the bundle does not hold/)
  })

  it('refuses a manifest over 1 MiB, a missing or malformed one', () => {
    const p = parts()
    const big = Buffer.concat([Buffer.from('{"_padding":"'), Buffer.alloc(1024 * 1024, 0x61), Buffer.from('"}')])
    refused(archive(file('manifest.json', big), file('app.wasm', p.get('app.wasm')!)), /manifest.json is \d+ bytes, more than the 1048576 allowed/)
    refused(archive(file('app.wasm', p.get('app.wasm')!)), /no manifest.json/)
    refused(archive(file('manifest.json', Buffer.from('{not json'))), /not valid UTF-8 JSON/)
    refused(archive(file('manifest.json', Buffer.from(JSON.stringify({ version: '1.0', package: 'Bad Name' })))), /manifest.json is invalid at package/)
  })

  it('refuses paths outside the archive, absolute paths, links, devices, duplicates and extension headers', () => {
    const p = parts()
    const m = file('manifest.json', p.get('manifest.json')!)
    const w = file('app.wasm', p.get('app.wasm')!)
    refused(archive(m, w, file('../evil', Buffer.from('x'))), /'..\/evil' points outside the archive/)
    refused(archive(m, w, file('a/../../evil', Buffer.from('x'))), /points outside the archive/)
    refused(archive(m, w, file('/etc/evil', Buffer.from('x'))), /'\/etc\/evil' has an absolute path/)
    refused(archive(m, w, Buffer.concat([header('link', 0, '2', '/etc/passwd')])), /'link' is a symbolic link/)
    refused(archive(m, w, Buffer.concat([header('hard', 0, '1', 'app.wasm')])), /'hard' is a hard link/)
    refused(archive(m, w, Buffer.concat([header('dev', 0, '3')])), /'dev' is a character device/)
    refused(archive(m, w, file('app.wasm', Buffer.from('again'))), /'app.wasm' appears twice/)
    refused(archive(file('PaxHeader', Buffer.from('30 path=x\n'), 'x'), m, w), /PAX extended header/)
    refused(archive(m, w, file('a\\b', Buffer.from('x'))), /backslash/)
  })

  it('refuses what is not a well-formed tar.gz: not gzip, a bad checksum, a truncated entry, too much content', () => {
    refused(Buffer.from('PK\x03\x04 a zip'), /not gzip-compressed/)
    const h = header('manifest.json', 10)
    h[0] = 0x4e // the name changes, the checksum does not
    refused(gzipSync(Buffer.concat([h, Buffer.alloc(1536)])), /bad checksum/)
    refused(gzipSync(Buffer.concat([header('manifest.json', 5000), Buffer.alloc(512)])), /'manifest.json' is truncated/)
    refused(gzipSync(header('manifest.json', 0)), /ends without the two empty blocks/)
    expect(() => readBundle(gzipSync(Buffer.alloc(70 * 1024 * 1024)))).toThrow(/unpacks to more than/)
  })

  it('writes a tar that GNU tar lists and extracts the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mero-tar-'))
    try {
      writeFileSync(join(dir, 'b.mpk'), good())
      expect(execFileSync('tar', ['-tzf', join(dir, 'b.mpk')], { encoding: 'utf8' }).trim().split('\n')).toEqual(['manifest.json', 'app.wasm', 'abi.json'])
      execFileSync('tar', ['-xzf', join(dir, 'b.mpk'), '-C', dir])
      expect(readFileSync(join(dir, 'app.wasm'))).toEqual(wasm)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reads back what it wrote (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9_.-]{1,20}(\/[a-z0-9_-]{1,20}){0,2}$/).filter((s) => !s.split('/').includes('.') && !s.split('/').includes('..')), fc.uint8Array({ maxLength: 2000 })), { maxLength: 6, selector: ([n]) => n }), (files) => {
        const tar = writeTar(files.map(([path, data]) => ({ path, data })))
        const back = readTar(tar, { maxFiles: 10, maxBytes: 1 << 20 })
        expect([...back.entries()].map(([k, v]) => [k, [...v]])).toEqual(files.map(([k, v]) => [k, [...v]]))
      }),
      { numRuns: 200 },
    )
  })
})

describe('manifest signing', () => {
  it('canonical JSON (RFC 8785): members sorted by UTF-16 code units, numbers and strings as ECMAScript writes them', () => {
    // the RFC's sorting example (3.2.3)
    const sorted = canonicalJson({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' })
    const at = (k: string) => sorted.indexOf(`${JSON.stringify(k)}:`)
    const keys = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']
    for (let i = 0; i + 1 < keys.length; i++) expect(at(keys[i]!)).toBeLessThan(at(keys[i + 1]!))
    expect(canonicalJson({ b: [1e21, 1.5, -0, 'x\u2028'], a: { d: null, c: true } })).toBe('{"a":{"c":true,"d":null},"b":[1e+21,1.5,0,"x\u2028"]}')
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/)
  })

  it('the signed digest leaves out the signature and _-prefixed members, and nothing else', () => {
    const m = { version: '1.0', package: 'p', b: 1 }
    expect(signingDigest({ ...m, signature: { x: 1 }, _note: 'free' })).toEqual(signingDigest(m))
    expect(signingDigest({ ...m, note: 'signed' })).not.toEqual(signingDigest(m))
  })

  it('orders semantic versions as semver does', () => {
    const order = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0']
    for (let i = 0; i + 1 < order.length; i++) {
      expect(compareVersions(order[i]!, order[i + 1]!)).toBe(-1)
      expect(compareVersions(order[i + 1]!, order[i]!)).toBe(1)
    }
    expect(compareVersions('1.0.0+build.1', '1.0.0')).toBe(0)
  })
})
