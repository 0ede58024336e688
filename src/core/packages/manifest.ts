import { z } from 'zod'
import { type KeyPair, sign, verify } from '../crypto/ed25519.js'
import { fromBase58, fromBase64Url, toBase58, toBase64Url } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { sha256, sha256Of } from '../primitives/hash.js'
import { canonicalJson } from './canonical-json.js'

/**
 * A bundle's `manifest.json` (seed 002, the original's `.mpk` format): what the package is, who
 * signed it, and the files it holds with their hashes and sizes. The signature is Ed25519 over the
 * SHA-256 of the manifest's RFC 8785 canonical form, with `signature` and any top-level member
 * whose name starts with `_` left out. Keys and signatures are base64url; the signer is named as
 * a `did:key` (multibase base58btc of the ed25519-pub multicodec 0xed01 and the key).
 */
export const MANIFEST_FORMAT = '1.0'
/** A manifest larger than this is refused before it is parsed. */
export const MAX_MANIFEST_BYTES = 1024 * 1024

const PACKAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/
const SHA256_HEX = /^[0-9a-f]{64}$/

const FileRef = z
  .object({
    path: z.string().min(1).max(100),
    hash: z.string().regex(SHA256_HEX, 'a hash is the SHA-256 of the file, 64 lowercase hex digits'),
    size: z.number().int().nonnegative(),
  })
  .strict()

export const ManifestSchema = z.looseObject({
  version: z.literal(MANIFEST_FORMAT, { message: `the manifest format version must be "${MANIFEST_FORMAT}"` }),
  package: z.string().regex(PACKAGE_NAME, 'a package name is 1-128 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit (e.g. com.example.notes)'),
  appVersion: z.string().regex(SEMVER, 'appVersion must be a semantic version such as 1.2.0'),
  signerId: z.string().startsWith('did:key:z', 'signerId must be a did:key (did:key:z…)'),
  minRuntimeVersion: z.string().regex(SEMVER).optional(),
  metadata: z.looseObject({ name: z.string().max(256).optional(), description: z.string().max(4096).optional() }).optional(),
  wasm: FileRef,
  abi: FileRef.optional(),
  signature: z
    .object({
      algorithm: z.literal('ed25519', { message: 'the signature algorithm must be "ed25519"' }),
      publicKey: z.string(),
      signature: z.string(),
      signedAt: z.string().max(64),
    })
    .strict(),
})

export const UnsignedManifestSchema = ManifestSchema.omit({ signature: true })
export type Manifest = z.infer<typeof ManifestSchema>
export type UnsignedManifest = z.infer<typeof UnsignedManifestSchema>

const ED25519_PUB = Buffer.from([0xed, 0x01])

export function didKey(publicKey: Uint8Array): string {
  return `did:key:z${toBase58(Buffer.concat([ED25519_PUB, publicKey]))}`
}

export function publicKeyOfDid(did: string): Buffer {
  if (!did.startsWith('did:key:z')) throw new MeroError('InvalidPackage', `signer '${did}' is not a did:key`)
  let raw: Buffer
  try {
    raw = fromBase58(did.slice('did:key:z'.length), 'signerId')
  } catch {
    throw new MeroError('InvalidPackage', `signer '${did}' is not valid base58btc`)
  }
  if (raw.length !== 34 || !raw.subarray(0, 2).equals(ED25519_PUB)) throw new MeroError('InvalidPackage', `signer '${did}' is not an Ed25519 did:key`)
  return raw.subarray(2)
}

/** What is signed: SHA-256 of the canonical manifest without `signature` and `_`-prefixed members. */
export function signingDigest(manifest: Record<string, unknown>): Buffer {
  const unsigned: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(manifest)) if (k !== 'signature' && !k.startsWith('_')) unsigned[k] = v
  return sha256Of(Buffer.from(canonicalJson(unsigned), 'utf8'))
}

export function signManifest(manifest: UnsignedManifest, key: KeyPair, signedAt = new Date().toISOString()): Manifest {
  if (manifest.signerId !== didKey(key.publicKey)) throw new MeroError('InvalidInput', 'the manifest names another signer than the key that signs it')
  const signature = sign(key.privateKey, signingDigest(manifest))
  return { ...manifest, signature: { algorithm: 'ed25519', publicKey: toBase64Url(key.publicKey), signature: toBase64Url(signature), signedAt } } as Manifest
}

/** Checks the signature and that it is the signer's; returns the signer's public key. */
export function verifyManifest(manifest: Manifest): Buffer {
  const signer = publicKeyOfDid(manifest.signerId)
  let publicKey: Buffer
  let signature: Buffer
  try {
    publicKey = fromBase64Url(manifest.signature.publicKey, 'signature.publicKey')
    signature = fromBase64Url(manifest.signature.signature, 'signature.signature')
  } catch (e) {
    throw new MeroError('InvalidPackage', `the manifest's signature is malformed: ${(e as Error).message}`)
  }
  if (!publicKey.equals(signer)) throw new MeroError('InvalidPackage', `the manifest is signed with a key that is not its signer ${manifest.signerId}`)
  if (!verify(signer, signingDigest(manifest), signature)) throw new MeroError('InvalidPackage', `the manifest's signature does not verify: it was not signed by ${manifest.signerId}, or it was changed after signing`)
  return signer
}

/**
 * The application id of a package: SHA-256("mero.app.package.v1\0" ‖ package ‖ 0x00 ‖ signer's
 * public key). Every version of a package signed by one key shares it; another signer's package of
 * the same name is another application.
 */
export function packageApplicationId(pkg: string, signer: Uint8Array): Buffer {
  return sha256('mero.app.package.v1\0', pkg, Buffer.from([0]), signer)
}

/** Orders semantic versions (pre-releases before their release, as semver does). */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a)
  const pb = SEMVER.exec(b)
  if (!pa || !pb) throw new MeroError('InvalidInput', `not a semantic version: ${!pa ? a : b}`)
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i])
    if (d !== 0) return Math.sign(d)
  }
  const [ra, rb] = [pa[4], pb[4]]
  if (ra === rb) return 0
  if (ra === undefined) return 1
  if (rb === undefined) return -1
  const xa = ra.split('.')
  const xb = rb.split('.')
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const [p, q] = [xa[i], xb[i]]
    if (p === undefined) return -1
    if (q === undefined) return 1
    const [np, nq] = [/^\d+$/.test(p), /^\d+$/.test(q)]
    if (np && nq && Number(p) !== Number(q)) return Math.sign(Number(p) - Number(q))
    if (np !== nq) return np ? -1 : 1
    if (p !== q) return p < q ? -1 : 1
  }
  return 0
}

export function fileHash(bytes: Uint8Array): string {
  return sha256Of(bytes).toString('hex')
}
