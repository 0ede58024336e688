import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestHome } from '../helpers/harness.js'

describe('meroctl blob and alias', () => {
  const t = new TestHome()
  beforeAll(async () => {
    await t.init()
    await t.start()
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('adds, lists, gets and removes a blob (human and --json)', async () => {
    const file = join(t.home, 'in.bin')
    const content = randomBytes(2 * 1024 * 1024 + 17)
    writeFileSync(file, content)
    const human = await t.cli(['blob', 'add', file])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/blob id\s+\w{43,44}/)
    expect(human.stdout).toMatch(/chunks\s+3/)
    const added = await t.json(['blob', 'add', file])
    expect(added).toMatchObject({ size: content.length, chunks: 3 })

    const list = await t.json(['blob', 'list'])
    expect(list.blobs).toEqual([expect.objectContaining({ blobId: added.blobId, size: content.length, holders: ['user'] })])
    expect((await t.cli(['blob', 'list', '--wide'])).stdout).toContain(added.blobId)
    expect(await t.json(['blob', 'info', added.blobId])).toMatchObject({ blobId: added.blobId, chunks: 3 })

    const out = join(t.home, 'out.bin')
    expect(await t.json(['blob', 'get', added.blobId, '-o', out])).toMatchObject({ size: content.length })
    expect(readFileSync(out).equals(content)).toBe(true)
    const again = await t.cli(['blob', 'get', added.blobId, '-o', out, '--json'])
    expect(again.code).toBe(2)
    expect(JSON.parse(again.stdout).error.message).toMatch(/exists; pass --force/)
    const piped = await t.cli(['blob', 'get', added.blobId])
    expect(piped.code).toBe(0)
    expect(piped.stdoutBytes.equals(content)).toBe(true)

    const refused = await t.cli(['blob', 'rm', added.blobId, '--json'])
    expect(refused.code).toBe(2)
    expect(JSON.parse(refused.stdout).error.message).toMatch(/refusing without --yes/)
    expect(await t.json(['blob', 'rm', added.blobId, '--yes'])).toEqual({ blobId: added.blobId, removed: true })
    const gone = await t.cli(['blob', 'info', added.blobId, '--json'])
    expect(gone.code).toBe(1)
    expect(JSON.parse(gone.stdout).error.kind).toBe('BlobNotFound')
  })

  it('rejects a malformed blob id with a usage error naming it', async () => {
    const r = await t.cli(['blob', 'info', 'not-an-id', '--json'])
    expect(r.code).toBe(2)
    expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'InvalidParams', message: expect.stringMatching(/'blobId': expected a blob id/) })
  })

  it('creates, lists, gets and removes aliases', async () => {
    const id = (await t.json(['node', 'status'])).identity
    expect(await t.json(['alias', 'create', 'me', id, '--kind', 'identity'])).toEqual({ kind: 'identity', alias: 'me', id })
    expect((await t.cli(['alias', 'get', 'me', '--kind', 'identity'])).stdout.trim()).toBe(id)
    const clash = await t.cli(['alias', 'create', 'me', '11111111111111111111111111111111', '--kind', 'identity', '--json'])
    expect(clash.code).toBe(1)
    expect(JSON.parse(clash.stdout).error).toMatchObject({ kind: 'AlreadyExists', message: expect.stringMatching(/--force/) })
    const badId = await t.cli(['alias', 'create', 'g', 'zz', '--kind', 'group', '--json'])
    expect(JSON.parse(badId.stdout).error.message).toMatch(/not a group id/)
    const badName = await t.cli(['alias', 'create', 'has space', id, '--kind', 'identity', '--json'])
    expect(badName.code).toBe(2)
    expect((await t.json(['alias', 'list'])).aliases).toEqual([{ kind: 'identity', alias: 'me', id }])
    expect((await t.cli(['alias', 'list', '--kind', 'context'])).stdout).toMatch(/no aliases/)
    expect(await t.json(['alias', 'rm', 'me', '--kind', 'identity'])).toMatchObject({ removed: true })
    expect((await t.cli(['alias', 'get', 'me', '--kind', 'identity', '--json'])).code).toBe(1)
  })
})
