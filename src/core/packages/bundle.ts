import { gunzipSync, gzipSync } from 'node:zlib'
import type { KeyPair } from '../crypto/ed25519.js'
import { MeroError } from '../primitives/errors.js'
import { sha256Of } from '../primitives/hash.js'
import { didKey, fileHash, type Manifest, ManifestSchema, MANIFEST_FORMAT, MAX_MANIFEST_BYTES, packageApplicationId, signManifest, UnsignedManifestSchema, verifyManifest } from './manifest.js'
import { readTar, writeTar } from './tar.js'

/**
 * Application bundles (`.mpk`): a gzip'd tar with `manifest.json` at its top and the files the
 * manifest names (the wasm module, optionally its ABI). Reading one checks everything before
 * anything is used: the archive's shape (tar.ts), the manifest's size (≤ 1 MiB) and schema, every
 * named file's size and SHA-256, and the signature; any mismatch is an InvalidPackage error that
 * says which, and nothing is returned.
 */
export interface BundleLimits {
  /** The compressed bundle. */
  maxBundleBytes: number
  /** Everything in it, uncompressed. */
  maxContentBytes: number
  maxFiles: number
}

export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({ maxBundleBytes: 32 * 1024 * 1024, maxContentBytes: 64 * 1024 * 1024, maxFiles: 64 })

export interface Bundle {
  manifest: Manifest
  /** The package's application id (package and signer). */
  applicationId: Buffer
  signer: Buffer
  wasm: Buffer
  abi?: Buffer
  /** The bundle's own content id (SHA-256 of its bytes). */
  bundleId: Buffer
}

const bad = (message: string) => new MeroError('InvalidPackage', message)

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b
}

export function readBundle(bytes: Uint8Array, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Bundle {
  if (bytes.length > limits.maxBundleBytes) throw bad(`the bundle is ${bytes.length} bytes, more than the ${limits.maxBundleBytes} allowed`)
  if (!isGzip(bytes)) throw bad('the bundle is not gzip-compressed (an .mpk is a tar.gz)')
  let tar: Buffer
  try {
    tar = gunzipSync(bytes, { maxOutputLength: limits.maxContentBytes + 64 * 1024 })
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'ERR_BUFFER_TOO_LARGE') throw bad(`the bundle unpacks to more than ${limits.maxContentBytes} bytes`)
    throw bad(`the bundle is not valid gzip: ${(e as Error).message}`)
  }
  const files = readTar(tar, { maxFiles: limits.maxFiles, maxBytes: limits.maxContentBytes })
  const raw = files.get('manifest.json')
  if (!raw) throw bad('the bundle has no manifest.json at its top')
  if (raw.length > MAX_MANIFEST_BYTES) throw bad(`manifest.json is ${raw.length} bytes, more than the ${MAX_MANIFEST_BYTES} allowed`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw))
  } catch (e) {
    throw bad(`manifest.json is not valid UTF-8 JSON: ${(e as Error).message}`)
  }
  const parsed = ManifestSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw bad(`manifest.json is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  const manifest = parsed.data
  const file = (ref: { path: string; hash: string; size: number }, what: string): Buffer => {
    const data = files.get(ref.path)
    if (!data) throw bad(`the manifest names ${what} '${ref.path}', which the bundle does not hold`)
    if (data.length !== ref.size) throw bad(`${what} '${ref.path}' is ${data.length} bytes; the manifest says ${ref.size}`)
    const actual = fileHash(data)
    if (actual !== ref.hash) throw bad(`${what} '${ref.path}' hashes to ${actual}; the manifest says ${ref.hash}`)
    return data
  }
  const wasm = file(manifest.wasm, 'the module')
  const abi = manifest.abi ? file(manifest.abi, 'the ABI') : undefined
  const signer = verifyManifest(manifest)
  return { manifest, applicationId: packageApplicationId(manifest.package, signer), signer, wasm, ...(abi ? { abi } : {}), bundleId: sha256Of(bytes) }
}

export interface BundleInput {
  package: string
  version: string
  wasm: Uint8Array
  abi?: Uint8Array
  metadata?: { name?: string; description?: string }
  minRuntimeVersion?: string
}

/** Builds and signs a bundle (deterministic but for `signedAt`). */
export function buildBundle(input: BundleInput, key: KeyPair, signedAt?: string): Buffer {
  const unsigned = {
    version: MANIFEST_FORMAT,
    package: input.package,
    appVersion: input.version,
    signerId: didKey(key.publicKey),
    ...(input.minRuntimeVersion ? { minRuntimeVersion: input.minRuntimeVersion } : {}),
    ...(input.metadata ? { metadata: input.metadata } : {}),
    wasm: { path: 'app.wasm', hash: fileHash(input.wasm), size: input.wasm.length },
    ...(input.abi ? { abi: { path: 'abi.json', hash: fileHash(input.abi), size: input.abi.length } } : {}),
  }
  const check = UnsignedManifestSchema.safeParse(unsigned)
  if (!check.success) {
    const issue = check.error.issues[0]!
    throw new MeroError('InvalidInput', `the package's ${issue.path.join('.') || 'manifest'} is invalid: ${issue.message}`)
  }
  const manifest = signManifest(check.data, key, signedAt)
  const files = [
    { path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8') },
    { path: 'app.wasm', data: input.wasm },
    ...(input.abi ? [{ path: 'abi.json', data: input.abi }] : []),
  ]
  return gzipSync(writeTar(files), { level: 9 })
}
