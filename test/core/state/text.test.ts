import { afterEach, describe, expect, it } from 'vitest'
import { decodeDelta, encodeDelta } from '../../../src/core/state/actions.js'
import { elementRef } from '../../../src/core/state/ids.js'
import { isMeroError } from '../../../src/core/primitives/errors.js'
import { Replica, TempStores } from './helpers.js'

const stores = new TempStores()
afterEach(() => stores.cleanup())

async function nodes(n: number, clock = () => 1_000_000): Promise<Replica[]> {
  const out: Replica[] = []
  for (let i = 0; i < n; i++) out.push(new Replica((await stores.store()).store, Buffer.alloc(32, i + 1), clock))
  return out
}
const text = (r: Replica) => r.state.begin(r.node, r.clock).textRead('doc')
function everyoneGetsEverything(rs: Replica[]): void {
  for (const to of rs) for (const from of rs) if (to !== from) for (const d of from.authored) to.receive(d)
}

describe('RGA text semantics', () => {
  it('concurrent insertions at one position on three nodes converge, each kept whole, newest first', async () => {
    const [a, b, c] = await nodes(3)
    a!.exec((s) => s.textInsert('doc', 0, '[]'))
    everyoneGetsEverything([a!, b!, c!])
    a!.exec((s) => s.textInsert('doc', 1, 'alpha'))
    b!.exec((s) => s.textInsert('doc', 1, 'beta'))
    c!.exec((s) => s.textInsert('doc', 1, 'gamma'))
    everyoneGetsEverything([a!, b!, c!])
    // same wall time: ties go to the higher node id, so c's run is the newest
    expect(text(a!)).toBe('[gammabetaalpha]')
    expect(text(b!)).toBe(text(a!))
    expect(text(c!)).toBe(text(a!))
    expect(b!.state.rootHash()).toEqual(a!.state.rootHash())
    expect(c!.state.rootHash()).toEqual(a!.state.rootHash())
  })

  it('typing on two nodes at once: each one’s run stays in one piece where it typed', async () => {
    const [a, b] = await nodes(2)
    a!.exec((s) => s.textInsert('doc', 0, 'Hello world'))
    everyoneGetsEverything([a!, b!])
    // char by char, one call each, as an editor sends keystrokes
    for (const [i, ch] of [...' there'].entries()) a!.exec((s) => s.textInsert('doc', 5 + i, ch))
    for (const [i, ch] of [...', big'].entries()) b!.exec((s) => s.textInsert('doc', 5 + i, ch))
    everyoneGetsEverything([a!, b!])
    expect(text(a!)).toBe(text(b!))
    expect([`Hello there, big world`, `Hello, big there world`]).toContain(text(a!))
  })

  it('an insertion after a character deleted concurrently survives, at its place', async () => {
    const [a, b] = await nodes(2)
    a!.exec((s) => s.textInsert('doc', 0, 'abcdef'))
    everyoneGetsEverything([a!, b!])
    a!.exec((s) => s.textDelete('doc', 1, 3)) // "aef"
    b!.exec((s) => s.textInsert('doc', 3, 'X')) // after "c": "abcXdef"
    everyoneGetsEverything([a!, b!])
    expect(text(a!)).toBe('aXef')
    expect(text(b!)).toBe('aXef')
  })

  it('refuses a delta whose insertion follows a character not older than it', async () => {
    const [a, b] = await nodes(2)
    a!.exec((s) => s.textInsert('doc', 0, 'x'))
    const d = decodeDelta(a!.authored[0]!)
    const forged = encodeDelta({ ...d, actions: [{ type: 'textInsert', text: 'doc', seq: 1, origin: { run: elementRef(d.hlc.time + 1n, d.hlc.node, 0), offset: 0 }, content: 'y' }] })
    let error: unknown
    try {
      b!.receive(forged)
    } catch (e) {
      error = e
    }
    expect(isMeroError(error, 'InvalidInput')).toBe(true)
    expect((error as Error).message).toMatch(/follows a character that is not older than it/)
    expect(text(b!)).toBe('')
  })

  it('a deletion that arrives before its insertion is kept and applied when the insertion comes', async () => {
    const [a, b, c] = await nodes(3)
    a!.exec((s) => s.textInsert('doc', 0, 'abc'))
    b!.receive(a!.authored[0]!)
    b!.exec((s) => s.textDelete('doc', 1, 1))
    c!.receive(b!.authored[0]!) // the deletion first
    expect(text(c!)).toBe('')
    c!.receive(a!.authored[0]!)
    expect(text(c!)).toBe('ac')
    expect(c!.state.rootHash()).toEqual(b!.state.rootHash())
  })
})
