import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DeltaLog, REMEMBERED_DEPTHS } from '../../../src/core/context/delta-log.js'
import { Store } from '../../../src/core/store/store.js'

const dirs: string[] = []
const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const id = (i: number) => {
  const b = Buffer.alloc(32)
  b.writeUInt32BE(i + 1)
  return b
}

describe('DeltaLog: the delta depths it remembers between writes, bounded (issue 23, item 3)', () => {
  it('a chain longer than the cap: it remembers at most 4,096 depths, counts those it forgot, and reads them from the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mero-delta-log-'))
    dirs.push(dir)
    const store = await Store.open(join(dir, 'data'))
    stores.push(store)
    const log = new DeltaLog(store)
    const ctx = Buffer.alloc(32, 7)
    const chain = REMEMBERED_DEPTHS + 904
    for (let i = 0; i < chain; i += 500) {
      const batch = store.batch()
      for (let j = i; j < Math.min(i + 500, chain); j++) {
        const parents = j ? [id(j - 1)] : []
        log.put(batch, ctx, id(j), { depth: log.depthOf(ctx, parents), parents, checkpoint: true })
        expect(log.remembered).toBeLessThanOrEqual(REMEMBERED_DEPTHS)
      }
      batch.write()
    }
    expect(log.remembered).toBe(REMEMBERED_DEPTHS)
    expect(log.forgotten).toBe(904)
    // forgotten, the first deltas' depths are read from the store; remembered ones are right too
    expect(log.depth(ctx, id(0))).toBe(0)
    expect(log.depth(ctx, id(903))).toBe(903)
    expect(log.depth(ctx, id(chain - 1))).toBe(chain - 1)
    expect(log.depthOf(ctx, [id(10), id(chain - 1)])).toBe(chain)
  })
})
