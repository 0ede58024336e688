import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { COLUMNS } from '../../../src/core/store/columns.js'
import { storeMemoryPlan } from '../../../src/core/store/memory-budget.js'
import { Store } from '../../../src/core/store/store.js'
import { parseConfig } from '../../../src/daemon/config.js'

const MiB = 1024 * 1024
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** What RocksDB wrote down in its OPTIONS file for each column family: write buffer size and count. */
function writtenOptions(data: string): Map<string, { writeBufferSize: number; maxWriteBuffers: number }> {
  const file = readdirSync(data).filter((f) => f.startsWith('OPTIONS-')).sort().at(-1)!
  const out = new Map<string, { writeBufferSize: number; maxWriteBuffers: number }>()
  for (const section of readFileSync(join(data, file), 'utf8').split(/^\[CFOptions "/m).slice(1)) {
    const name = section.slice(0, section.indexOf('"'))
    const num = (key: string) => Number(new RegExp(`^\\s*${key}=(\\d+)$`, 'm').exec(section)![1])
    out.set(name, { writeBufferSize: num('write_buffer_size'), maxWriteBuffers: num('max_write_buffer_number') })
  }
  return out
}

describe('store.memory_mb: RocksDB memory under one budget (issue 23, item 2)', () => {
  it('shares the budget out so that write buffers and block caches each stay within half of it', () => {
    for (const mb of [16, 64, 1024]) {
      const plan = storeMemoryPlan(mb)
      expect(plan.writeBuffers, `${mb} MiB`).toBeLessThanOrEqual((mb * MiB) / 2)
      expect(plan.blockCache, `${mb} MiB`).toBeLessThanOrEqual((mb * MiB) / 2)
      // most of each half is used, not left idle
      expect(plan.writeBuffers).toBeGreaterThan(0.45 * mb * MiB)
      expect(plan.blockCache).toBeGreaterThan(0.45 * mb * MiB)
      expect(Object.keys(plan.columns).sort()).toEqual([...COLUMNS].sort())
      // the per-column tuning stays
      for (const c of ['state', 'delta', 'groupOps'] as const) expect(plan.columns[c]).toMatchObject({ optimize: 'point-lookup' })
      expect(plan.columns.meta).not.toHaveProperty('optimize')
    }
  })

  it('refuses a budget it cannot keep, naming the key', () => {
    for (const bad of [15, 16.5, 0, 16_385]) expect(() => storeMemoryPlan(bad)).toThrow(/store\.memory_mb must be a whole number of MiB from 16 to 16384/)
    expect(() => parseConfig('[store]\nmemory_mb = 8\n')).toThrow(/'store\.memory_mb'/)
    expect(parseConfig('').store.memory_mb).toBe(64)
    expect(parseConfig('[store]\nmemory_mb = 256\n').store.memory_mb).toBe(256)
  })

  it('is what RocksDB applies: every column family write buffers within its share, the caches sized from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mero-budget-'))
    dirs.push(dir)
    const data = join(dir, 'data')
    const store = await Store.open(data, { memoryMb: 64 })
    try {
      const written = writtenOptions(data)
      expect([...written.keys()].sort()).toEqual([...COLUMNS].sort())
      let total = 0
      for (const c of COLUMNS) {
        const o = written.get(c)!
        expect(o.writeBufferSize, c).toBe((store.memory.columns[c].memtableMemoryBudget as number) / 4)
        expect(o.maxWriteBuffers, c).toBe(6)
        total += o.writeBufferSize * o.maxWriteBuffers
      }
      expect(total).toBeLessThanOrEqual(32 * MiB)
      // the binding reads properties of the default column family only: its cache is its share
      const raw = store.raw as unknown as { getProperty(p: string): string }
      expect(Number(raw.getProperty('rocksdb.block-cache-capacity'))).toBe(store.memory.columns.default.cacheSize)
    } finally {
      await store.close()
    }
  })
})
