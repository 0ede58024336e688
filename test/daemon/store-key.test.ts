import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { isMeroError } from '../../src/core/primitives/errors.js'
import { storeKeyId } from '../../src/core/store/store-cipher.js'
import { parseConfig } from '../../src/daemon/config.js'
import { createStoreKeyFile, readStoreKeyFile, storeKeySetting } from '../../src/daemon/store-key.js'

describe('store key files (store.encryption_key_file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mero-key-'))
  const configPath = join(dir, 'node', 'config.toml')
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const refused = (text: string, mode = 0o600): string => {
    const path = join(dir, `k-${Math.random().toString(36).slice(2)}`)
    writeFileSync(path, text, { mode })
    chmodSync(path, mode)
    try {
      readStoreKeyFile({ path, setBy: 'store.encryption_key_file in config.toml' })
    } catch (e) {
      expect(isMeroError(e, 'ConfigInvalid')).toBe(true)
      expect((e as Error).message).toContain(`store.encryption_key_file: the key file ${path}`)
      return (e as Error).message
    }
    throw new Error('accepted')
  }

  it('makes a key file with mode 0600 and reads it back; an existing file is kept, not overwritten', () => {
    const path = join(dir, 'made.key')
    const made = createStoreKeyFile(path)
    expect(made.created).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readFileSync(path, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/)
    const key = readStoreKeyFile({ path, setBy: 'test' })
    expect(storeKeyId(key)).toBe(made.keyId)
    const again = createStoreKeyFile(path)
    expect(again).toEqual({ path, keyId: made.keyId, created: false })
  })

  it('refuses a missing file, a wrong length, non-hex text and a file others may read, naming the problem', () => {
    expect(() => readStoreKeyFile({ path: join(dir, 'absent.key'), setBy: 'x' })).toThrow(/does not exist/)
    expect(refused('ab'.repeat(31))).toContain('holds 62 hex characters, not 64')
    expect(refused('zz'.repeat(32))).toContain('characters other than hex digits')
    expect(refused('ab'.repeat(32), 0o644)).toContain('readable or writable by group or others (mode 644)')
    expect(refused('ab'.repeat(32), 0o640)).toContain('chmod 600')
  })

  it('$MERO_STORE_KEY_FILE overrides the config key; a relative path is taken from the node folder; none set is no encryption', () => {
    const config = parseConfig('[store]\nencryption_key_file = "keys/store.key"\n')
    expect(storeKeySetting(config, configPath, {})).toEqual({ path: join(dir, 'node', 'keys', 'store.key'), setBy: `store.encryption_key_file in ${configPath}` })
    expect(storeKeySetting(config, configPath, { MERO_STORE_KEY_FILE: '/k/other.key' })).toEqual({ path: '/k/other.key', setBy: '$MERO_STORE_KEY_FILE' })
    expect(storeKeySetting(parseConfig(''), configPath, {})).toBeUndefined()
    expect(() => parseConfig('[store]\nencryption_key_file = 3\n')).toThrow(/'store\.encryption_key_file'/)
  })
})
