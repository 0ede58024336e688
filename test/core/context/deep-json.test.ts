import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fromBase58 } from '../../../src/core/primitives/encoding.js'
import { nestsDeeperThan, textNestsDeeperThan } from '../../../src/core/primitives/json-depth.js'
import { ensureBuilt, fixture } from '../runtime/fixtures.js'
import { closeNodes, newNode } from './helpers.js'

/** Issue 17, item 6: JSON nested past the limit never reaches JSON.stringify (a stack overflow). */
afterEach(closeNodes)
beforeAll(() => ensureBuilt(), 120_000)

const deep = (n: number): unknown => {
  let v: unknown = 1
  for (let i = 0; i < n; i++) v = i % 2 ? { a: v } : [v]
  return v
}

async function edgeCasesContext() {
  const n = await newNode()
  const app = await n.applications.install(fixture('edge-cases'))
  const meta = await n.contexts.create(n.createGroup(), fromBase58(app.applicationId, 'application id', 32), {})
  return { n, contextId: meta.contextId }
}

describe('JSON depth', () => {
  it('is measured without recursion, on values and on text (strings hold no nesting)', () => {
    expect(nestsDeeperThan(deep(128), 128)).toBe(false)
    expect(nestsDeeperThan(deep(129), 128)).toBe(true)
    expect(nestsDeeperThan(deep(200_000), 128)).toBe(true)
    expect(textNestsDeeperThan('['.repeat(129) + ']'.repeat(129), 128)).toBe(true)
    expect(textNestsDeeperThan(JSON.stringify({ s: '[[[[{{{{'.repeat(100), e: '\\"[' }), 2)).toBe(false)
  })

  it('5,000-deep arguments are a typed error, not a stack overflow', async () => {
    const { n, contextId } = await edgeCasesContext()
    await expect(n.contexts.execute(contextId, 'echo', { deep: deep(5_000) })).rejects.toMatchObject({ kind: 'InvalidInput', message: "the arguments of 'echo' nest deeper than 128 levels of arrays and objects" })
    expect((await n.contexts.execute(contextId, 'echo', { deep: deep(100) })).result).toEqual({ deep: deep(100) })
  })

  it('an application returning or emitting 5,000-deep JSON answers with its text, which serialises', async () => {
    const { n, contextId } = await edgeCasesContext()
    const r = await n.contexts.execute(contextId, 'deep_return', {})
    expect(r.result).toBe('['.repeat(5_000) + ']'.repeat(5_000))
    const e = await n.contexts.execute(contextId, 'deep_event', {})
    expect(e.events[0]!.data).toBe('['.repeat(5_000) + ']'.repeat(5_000))
    expect(() => JSON.stringify([r, e])).not.toThrow()
  })
})
