import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join, resolve } from 'node:path'
import { BackupManifestSchema, type BackupManifest, type RestoreResult } from '../api/node-files.js'
import { readKeyFile } from '../core/crypto/keyfile.js'
import type { MeroNode } from '../core/node/node.js'
import { MIGRATIONS, SCHEMA_VERSION } from '../core/node/migrations.js'
import { fromBase58, toBase58 } from '../core/primitives/encoding.js'
import { MeroError } from '../core/primitives/errors.js'
import { groupIdToString } from '../core/primitives/ids.js'
import { copyStore } from '../core/store/copy.js'
import { applySchema, schemaVersionOf } from '../core/store/schema.js'
import { Store, type StoreOpenOptions } from '../core/store/store.js'
import { resolveNodeHome, type NodeHome } from '../home/paths.js'
import { PidLock } from '../home/pid-file.js'
import { readEncryptionFile } from '../core/store/encryption-record.js'
import { StoreCipher } from '../core/store/store-cipher.js'
import { loadConfig } from './config.js'
import { storeKeyOptions } from './store-key.js'
import { packageVersion } from './version.js'

/**
 * `meroctl node backup <dir>` and `node restore <dir>`. A backup is a folder:
 *
 *   backup.json   what it holds (below): written last, so a folder without it is incomplete
 *   data/         a RocksDB store with every column as of one instant (core/store/copy.ts)
 *   blobs/        the chunk files the store's blobs reference
 *   identity.key  the node's key pair (mode 0600; the folder is 0700)
 *   config.toml   the node's configuration
 *
 * A backup of a node encrypted at rest is encrypted under the same store key (values and chunk
 * files are copied as stored); the key file itself is not in it. Restoring needs that key: the
 * file named by the backup's config (store.encryption_key_file) or $MERO_STORE_KEY_FILE.
 *
 * It is taken while the node runs. Restoring puts it into a node folder whose daemon is
 * stopped; the node then has the same identity, state and root hashes, and rejoins its peers.
 */
export const BACKUP_FORMAT = 1
const MANIFEST = 'backup.json'


/** Backs up a running node into `dir` (absolute, absent or empty). */
export async function backupNode(node: MeroNode, home: NodeHome, dir: string): Promise<BackupManifest> {
  const started = Date.now()
  prepareEmptyFolder(dir)
  const target = await Store.open(join(dir, 'data'))
  try {
    // one instant: the write-behind governance ops are written, then the facts and every
    // column's iterator are taken without an await between them
    node.groups.flush()
    const contexts = node.contexts.list().map((m) => ({ contextId: toBase58(m.contextId), groupId: groupIdToString(m.groupId), rootHash: m.rootHash.toString('hex'), deltas: m.deltas }))
    const groups = node.groups.groupIds().map((g) => ({ groupId: groupIdToString(g), stateHash: node.groups.state(g).stateHash().toString('hex') }))
    const blobMetas = node.blobs.list()
    const schemaVersion = schemaVersionOf(node.store) ?? 0
    const copy = await copyStore(node.store, target)
    const blobs = await node.blobs.copyChunks(blobMetas, join(dir, 'blobs'))
    copyFileSync(home.identityKey, join(dir, 'identity.key'))
    chmodSync(join(dir, 'identity.key'), 0o600)
    copyFileSync(home.config, join(dir, 'config.toml'))
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: started,
      node: home.node,
      identity: node.identityBase58,
      peerId: node.peerId,
      merod: packageVersion(),
      schemaVersion,
      sequence: copy.sequence.toString(),
      rows: copy.rows,
      bytes: copy.bytes,
      blobs: { count: blobMetas.length, ...blobs },
      contexts,
      groups,
      durationMs: 0,
      ...(node.store.encryption ? { storeKeyId: node.store.encryption.keyId } : {}),
    }
    await target.close()
    manifest.durationMs = Date.now() - started
    writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 })
    return manifest
  } catch (e) {
    await target.close().catch(() => undefined)
    throw e
  }
}

function prepareEmptyFolder(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new MeroError('AlreadyExists', `${dir} is not empty: a backup goes into a new or empty folder`)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
}

/**
 * Restores a backup into a node folder (offline: its daemon must be stopped). Everything is
 * checked in a staging folder first (the manifest, the key, the config, the store opening with
 * its write-ahead log verified and the root hashes the manifest names, each chunk's hash);
 * then the node's previous files, if any, move to `replaced-<time>/` and the backup's take their
 * place. Refuses an existing node unless `force`.
 */
export async function restoreNode(from: string, homeDir: string | undefined, nodeName: string | undefined, force: boolean): Promise<RestoreResult> {
  const source = resolve(from)
  const manifest = readManifest(source)
  const home = resolveNodeHome(homeDir, nodeName)
  const exists = existsSync(home.config) || existsSync(home.identityKey)
  if (exists && !force) throw new MeroError('NodeAlreadyInitialized', `node '${home.node}' already exists at ${home.dir}; restoring replaces its identity, data and config (pass --yes)`)
  mkdirSync(home.dir, { recursive: true, mode: 0o700 })
  chmodSync(home.dir, 0o700)
  const lock = new PidLock(home.pidFile)
  lock.acquire()
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const staging = join(home.dir, `restore-${stamp}`)
  try {
    const pair = readKeyFile(join(source, 'identity.key'))
    if (toBase58(pair.publicKey) !== manifest.identity) throw new MeroError('InvalidInput', `the backup's identity.key is ${toBase58(pair.publicKey)}, its manifest names ${manifest.identity}`)
    // the config moves into the node folder: a relative key path is taken from there
    const keyOptions = storeKeyOptions(loadConfig(join(source, 'config.toml')), home.config)
    mkdirSync(staging, { mode: 0o700 })
    copyTree(join(source, 'data'), join(staging, 'data'))
    copyTree(join(source, 'blobs'), join(staging, 'blobs'))
    // an unencrypted backup is checked as it is (given a key, the node is encrypted at its first start)
    const encrypted = readEncryptionFile(join(staging, 'data')) !== undefined
    const migrated = await checkStore(join(staging, 'data'), manifest, encrypted ? keyOptions : {})
    checkChunks(join(staging, 'blobs'), encrypted && keyOptions.key ? new StoreCipher(keyOptions.key) : undefined)

    let replacedTo: string | undefined
    if (exists) {
      replacedTo = join(home.dir, `replaced-${stamp}`)
      mkdirSync(replacedTo, { mode: 0o700 })
      for (const f of ['data', 'blobs', 'identity.key', 'config.toml']) if (existsSync(join(home.dir, f))) renameSync(join(home.dir, f), join(replacedTo, f))
    }
    renameSync(join(staging, 'data'), home.data)
    renameSync(join(staging, 'blobs'), home.blobs)
    copyFileSync(join(source, 'identity.key'), home.identityKey)
    chmodSync(home.identityKey, 0o600)
    copyFileSync(join(source, 'config.toml'), home.config)
    return {
      node: home.node,
      dir: home.dir,
      from: source,
      identity: manifest.identity,
      peerId: manifest.peerId,
      contexts: manifest.contexts.length,
      groups: manifest.groups.length,
      ...(replacedTo ? { replacedTo } : {}),
      migrated,
    }
  } finally {
    rmSync(staging, { recursive: true, force: true })
    lock.release()
  }
}

function readManifest(dir: string): BackupManifest {
  let text: string
  try {
    text = readFileSync(join(dir, MANIFEST), 'utf8')
  } catch {
    throw new MeroError('NotFound', `${dir} holds no ${MANIFEST}: not a backup, or one that did not finish (\`meroctl node backup\` writes it last)`)
  }
  let manifest: BackupManifest
  try {
    manifest = BackupManifestSchema.parse(JSON.parse(text))
  } catch (e) {
    throw new MeroError('InvalidInput', `${join(dir, MANIFEST)} is not a backup manifest: ${(e as Error).message.slice(0, 300)}`)
  }
  if (manifest.format !== BACKUP_FORMAT) throw new MeroError('InvalidInput', `the backup at ${dir} has format ${manifest.format}; this merod reads format ${BACKUP_FORMAT}`)
  for (const f of ['data', 'blobs', 'identity.key', 'config.toml']) {
    if (!existsSync(join(dir, f))) throw new MeroError('NotFound', `the backup at ${dir} has no ${f}`)
  }
  return manifest
}

/** Opens the staged store (its logs are verified), migrates it, and compares it with the manifest. */
async function checkStore(data: string, manifest: BackupManifest, keyOptions: StoreOpenOptions): Promise<string[]> {
  const store = await Store.open(data, keyOptions)
  try {
    const { migrated } = applySchema(store, SCHEMA_VERSION, MIGRATIONS, packageVersion())
    for (const c of manifest.contexts) {
      const row = store.get('context', fromBase58(c.contextId, 'context id', 32))
      const rootHash = row ? (JSON.parse(row.toString('utf8')) as { rootHash?: string }).rootHash : undefined
      if (rootHash !== c.rootHash) throw new MeroError('StoreCorrupted', `the backup's store does not match its manifest: context ${c.contextId} has root hash ${rootHash ?? '(none)'}, the manifest says ${c.rootHash}`)
    }
    return migrated
  } finally {
    await store.close()
  }
}

/** Each chunk file's content (opened with the store key, when encrypted) against its hash. */
function checkChunks(dir: string, cipher: StoreCipher | undefined): void {
  for (const folder of readdirSync(dir)) {
    for (const name of readdirSync(join(dir, folder))) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue
      const path = join(dir, folder, name)
      const stored = readFileSync(path)
      const chunk = cipher ? cipher.openChunk(Buffer.from(name, 'hex'), stored, path) : stored
      if (createHash('sha256').update(chunk).digest('hex') !== name) {
        throw new MeroError('StoreCorrupted', `the backup's chunk ${folder}/${name} does not match its hash`)
      }
    }
  }
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true, mode: 0o700 })
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyTree(join(from, entry.name), join(to, entry.name))
    else if (entry.isFile()) copyFileSync(join(from, entry.name), join(to, entry.name))
  }
}
