import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import bs58 from 'bs58'
import { contextMetaJson, decodeContextMeta, encodeContextMeta, type ContextMeta } from '../../../src/core/context/context-meta.js'

const id = () => randomBytes(32)

function meta(over: Partial<ContextMeta> = {}): ContextMeta {
  return { contextId: id(), groupId: id(), applicationId: id(), creator: id(), createdAt: 1_765_000_000_123, heads: [id(), id()], rootHash: id(), deltas: 7, ...over }
}

/** The record as merod has always written it (before ids were bytes in memory), by hand. */
function storedBefore(m: ContextMeta): string {
  const b58 = (b: Buffer) => bs58.encode(b)
  const hex = (b: Buffer) => b.toString('hex')
  const upgrading = m.upgrading ? `,"upgrading":"${b58(m.upgrading)}"` : ''
  return `{"contextId":"${b58(m.contextId)}","groupId":"${hex(m.groupId)}","applicationId":"${b58(m.applicationId)}","creator":"${b58(m.creator)}","createdAt":${m.createdAt},"heads":[${m.heads.map((h) => `"${hex(h)}"`).join(',')}],"rootHash":"${hex(m.rootHash)}","deltas":${m.deltas}${upgrading}}`
}

describe('context metadata: bytes in memory, the same JSON in the store', () => {
  it('stores exactly the JSON of before (field order, hex and base58 forms), with and without an upgrade under way, and reads it back into the same bytes', () => {
    for (const m of [meta(), meta({ upgrading: id() }), meta({ heads: [] })]) {
      const bytes = encodeContextMeta(m)
      expect(bytes.toString('utf8')).toBe(storedBefore(m))
      expect(decodeContextMeta(Buffer.from(storedBefore(m)))).toEqual(m)
      expect(JSON.stringify(contextMetaJson(m))).toBe(storedBefore(m))
    }
  })

  it('reads a record whose creator was stored empty (adopted before the creator was known) and writes it back unchanged', () => {
    const m = meta({ creator: Buffer.alloc(0) })
    const old = storedBefore(m).replace(/"creator":"[^"]*"/, '"creator":""')
    expect(encodeContextMeta(decodeContextMeta(Buffer.from(old))).toString('utf8')).toBe(old)
  })

  it('refuses a record whose ids are not ids, naming the field', () => {
    const bad = storedBefore(meta()).replace(/"groupId":"[0-9a-f]+"/, '"groupId":"zz"')
    expect(() => decodeContextMeta(Buffer.from(bad))).toThrow(/group id 'zz' is not valid hex/)
  })
})
