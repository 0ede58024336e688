import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster } from '../helpers/cluster.js'
import { fileHashes, filesHolding } from '../helpers/files.js'
import { TestHome, waitFor } from '../helpers/harness.js'

/**
 * Issue 16, item 6: encryption at rest, opt-in. A node made with `node init --encryption-key-file`
 * keeps no written value and no application byte in clear in its data or blobs folder, still
 * replicates with unencrypted peers, and refuses to start without its key or with another one,
 * changing no file; with its key it reads everything back. An unencrypted node given a key is
 * encrypted at its next start. Backups of an encrypted node are encrypted too.
 */
const SECRET = 'zebra-quartz-7731'

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])

describe('encryption at rest', () => {
  const t = new TestHome()
  const c = new Cluster(t)
  const keys = mkdtempSync('/tmp/mero-keys-')
  const keyFile = join(keys, 'a-store.key')
  const folders = (n: string) => [join(t.nodeDir(n), 'data'), join(t.nodeDir(n), 'blobs')]

  beforeAll(async () => {
    await c.start('a', undefined, ['--encryption-key-file', keyFile])
    await c.start('b')
    await c.start('c')
    await c.share('a', ['b', 'c'])
  }, 120_000)

  afterAll(async () => {
    c.close()
    await t.cleanup()
    rmSync(keys, { recursive: true, force: true })
  })

  it('an encrypted node writes through `meroctl call` and replicates with two unencrypted nodes; no file of its data or blobs folder holds a value or the application in clear', async () => {
    // node init made the key file (0600) and named it in the config
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/)
    expect(readFileSync(join(t.nodeDir('a'), 'config.toml'), 'utf8')).toContain(`encryption_key_file = ${JSON.stringify(keyFile)}`)
    const called = await t.json(['call', c.contextId, 'set', '--args', JSON.stringify({ key: 'from-a', value: `${SECRET}-a` }), '--node', 'a'])
    expect(called.rootHash).toBeTruthy()
    await c.call('b', 'set', { key: 'from-b', value: `${SECRET}-b` })
    await waitFor(() => c.converged(['a', 'b', 'c']), 20_000)
    expect((await c.call('a', 'get', { key: 'from-b' })).result).toBe(`${SECRET}-b`)
    expect((await c.call('c', 'get', { key: 'from-a' })).result).toBe(`${SECRET}-a`)

    // the unencrypted node's files show both values and the module: the search finds what is there
    expect(filesHolding(`${SECRET}-a`, ...folders('b')).length).toBeGreaterThan(0)
    expect(filesHolding(WASM_MAGIC, ...folders('b')).length).toBeGreaterThan(0)
    // A's files (the write-ahead log and tables, the blob chunks) hold none of them, running or stopped
    for (const running of [true, false]) {
      if (!running) await c.stop('a')
      expect(filesHolding(SECRET, ...folders('a'))).toEqual([])
      expect(filesHolding(WASM_MAGIC, ...folders('a'))).toEqual([])
    }
    expect(readdirSync(join(t.nodeDir('a'), 'data')).some((f) => f.endsWith('.log'))).toBe(true)
  }, 60_000)

  it('without its key, or with another key, the node refuses to start with a clear error and changes no file; with its key it reads everything back', async () => {
    await c.stop('a').catch(() => undefined)
    const before = fileHashes(...folders('a'))
    const start = (env: Record<string, string | undefined> = {}) => t.cli(['node', 'start', '--node', 'a', '--json'], { env })

    // no key: the config names none
    t.editConfig('a', (toml) => toml.replace(/^encryption_key_file = .*$/m, 'encryption_key_file = ""'))
    const missing = await start()
    expect(missing.code).not.toBe(0)
    expect(missing.stdout + missing.stderr).toMatch(/is encrypted \(key id [0-9a-f]{32}\) and no store key was given: set store\.encryption_key_file/)
    expect(fileHashes(...folders('a'))).toEqual(before)

    // another key, named by the environment variable (which overrides the config)
    const other = join(keys, 'other.key')
    expect((await t.merod(['--node', 'other', 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--encryption-key-file', other])).code).toBe(0)
    t.editConfig('a', (toml) => toml.replace(/^encryption_key_file = .*$/m, `encryption_key_file = ${JSON.stringify(keyFile)}`))
    const wrong = await start({ MERO_STORE_KEY_FILE: other })
    expect(wrong.code).not.toBe(0)
    expect(wrong.stdout + wrong.stderr).toContain(`the key file ${other} ($MERO_STORE_KEY_FILE) is not this store's key`)
    expect(fileHashes(...folders('a'))).toEqual(before)

    // a key file that is not a key: the config key, the file and the problem are named
    const moved = `${keyFile}.away`
    renameSync(keyFile, moved)
    const absent = await start()
    expect(absent.code).not.toBe(0)
    expect(absent.stdout + absent.stderr).toContain(`store.encryption_key_file: the key file ${keyFile}`)
    expect(absent.stdout + absent.stderr).toContain('does not exist')
    renameSync(moved, keyFile)
    expect(fileHashes(...folders('a'))).toEqual(before)

    // its own key: it starts, reads back what it held, and catches up with a write made meanwhile
    await c.call('b', 'set', { key: 'while-a-was-down', value: `${SECRET}-late` })
    await c.start('a')
    expect((await c.call('a', 'get', { key: 'from-a' })).result).toBe(`${SECRET}-a`)
    expect((await c.call('a', 'get', { key: 'from-b' })).result).toBe(`${SECRET}-b`)
    await waitFor(() => c.converged(['a', 'b', 'c']), 20_000)
    expect((await c.call('a', 'get', { key: 'while-a-was-down' })).result).toBe(`${SECRET}-late`)
    expect(filesHolding(SECRET, ...folders('a'))).toEqual([])
    // node status says so
    expect((await t.json(['node', 'status', '--node', 'a'])).storeKeyId).toMatch(/^[0-9a-f]{32}$/)
    expect((await t.json(['node', 'status', '--node', 'b'])).storeKeyId).toBeUndefined()
  }, 90_000)

  it('an unencrypted node given a key (config set) is encrypted at its next start: its values and application read back, none left in clear, and it keeps replicating', async () => {
    const cKey = join(keys, 'c-store.key')
    writeFileSync(cKey, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
    expect(filesHolding(`${SECRET}-a`, ...folders('c')).length).toBeGreaterThan(0)
    await c.stop('c')
    await t.json(['config', 'set', 'store.encryption_key_file', cKey, '--node', 'c'])
    await c.start('c')
    expect((await t.json(['node', 'status', '--node', 'c'])).storeKeyId).toMatch(/^[0-9a-f]{32}$/)
    expect((await c.call('c', 'get', { key: 'from-a' })).result).toBe(`${SECRET}-a`)
    expect((await c.call('c', 'get', { key: 'while-a-was-down' })).result).toBe(`${SECRET}-late`)
    await c.call('a', 'set', { key: 'after-c-encrypted', value: `${SECRET}-after` })
    await waitFor(() => c.converged(['a', 'b', 'c']), 20_000)
    expect((await c.call('c', 'get', { key: 'after-c-encrypted' })).result).toBe(`${SECRET}-after`)
    expect(filesHolding(SECRET, ...folders('c'))).toEqual([])
    expect(filesHolding(WASM_MAGIC, ...folders('c'))).toEqual([])
    expect(readdirSync(t.nodeDir('c')).filter((f) => /encrypting|unencrypted/.test(f))).toEqual([])
  }, 60_000)

  it("a backup of the encrypted node is encrypted, and restoring it needs the node's key", async () => {
    const backups = mkdtempSync('/tmp/mero-encbk-')
    try {
      const dir = join(backups, 'a')
      const manifest = await t.json(['node', 'backup', dir, '--node', 'a'])
      expect(manifest.storeKeyId).toMatch(/^[0-9a-f]{32}$/)
      expect(filesHolding(SECRET, join(dir, 'data'), join(dir, 'blobs'))).toEqual([])
      expect(filesHolding(WASM_MAGIC, join(dir, 'data'), join(dir, 'blobs'))).toEqual([])
      // without the key (its file moved away) the restore is refused, the node not made
      renameSync(keyFile, `${keyFile}.away`)
      const refused = await t.cli(['node', 'restore', dir, '--node', 'restored', '--no-start', '--json'])
      renameSync(`${keyFile}.away`, keyFile)
      expect(refused.code).not.toBe(0)
      expect(refused.stdout + refused.stderr).toContain('store.encryption_key_file')
      const restored = await t.json(['node', 'restore', dir, '--node', 'restored', '--no-start'])
      expect(restored).toMatchObject({ node: 'restored', identity: c.identities.a, contexts: 1 })
      expect(filesHolding(SECRET, ...folders('restored'))).toEqual([])
    } finally {
      rmSync(backups, { recursive: true, force: true })
    }
  }, 60_000)
})
