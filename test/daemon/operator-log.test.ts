import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { EventBus } from '../../src/core/node/event-bus.js'
import { OperatorLog } from '../../src/daemon/operator-log.js'

function capture(level = 'info') {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      done()
    },
  })
  return { lines, logger: pino({ level }, stream) }
}

const settle = () => new Promise((r) => setImmediate(r))
const peer = (n: number) => `12D3KooWPeer${n}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`

describe('the operator log', () => {
  it('writes one readable line per change, with full ids as fields and group aliases in the text', async () => {
    const bus = new EventBus()
    const { lines, logger } = capture()
    const groupId = 'a1'.repeat(32)
    new OperatorLog(logger, { names: { group: (g) => (g === groupId ? 'team' : undefined) } }).attach(bus)
    bus.emit({ type: 'group.created', groupId, owner: 'OwnerKey111111111111111111111111111111111111' })
    bus.emit({ type: 'group.member.added', groupId, identity: 'BobKey1111111111111111111111111111111111111', role: 'member' })
    bus.emit({ type: 'group.op.applied', groupId, opId: 'f'.repeat(64), kind: 'MemberAdded', signer: 'x', opSeq: 2 }) // its own line says it: debug
    bus.emit({ type: 'group.op.applied', groupId, opId: 'e'.repeat(64), kind: 'ContextJoined', signer: 'BobKey1111111111111111111111111111111111111', opSeq: 3, contextId: 'Ctx1111111111111111111111111111111111111111' })
    bus.emit({ type: 'context.state.mutated', contextId: 'c', rootHash: 'r', deltaId: 'd', events: [] }) // the hot path: never
    bus.emit({ type: 'sync.finished', groupId, peerId: peer(1), ok: true, fetched: 12, durationMs: 34 })
    bus.emit({ type: 'sync.finished', groupId, peerId: peer(1), ok: false, fetched: 0, durationMs: 5, error: 'the peer hung up' })
    bus.emit({ type: 'gc.finished', tombstones: 3, blobs: 1, orphanChunks: 0, contexts: 2, durationMs: 7, more: false })
    await settle()
    expect(lines.map((l) => [l.level, l.event])).toEqual([
      [30, 'group.created'],
      [30, 'group.member.added'],
      [30, 'group.op.applied'],
      [30, 'sync.finished'],
      [40, 'sync.finished'],
      [30, 'gc.finished'],
    ])
    expect(lines[0]).toMatchObject({ groupId, msg: 'group team (a1a1a1…a1a1) created by OwnerK…1111' })
    expect(lines[2]!.msg).toBe('group team (a1a1a1…a1a1): context joined by BobKey…1111 (context Ctx111…1111) (op eeeeee…eeee, seq 3)')
    expect(lines[3]!.msg).toMatch(/12 fetched in 34 ms/)
    expect(lines[4]).toMatchObject({ error: 'the peer hung up', msg: expect.stringContaining('sync FAILED: the peer hung up') })
  })

  it('summarises rejected and rate-limited traffic per peer and reason once per window', async () => {
    const bus = new EventBus()
    const { lines, logger } = capture()
    const log = new OperatorLog(logger, { summaryWindowMs: 50 }).attach(bus)
    for (let i = 0; i < 30; i++) bus.emit({ type: 'message.rejected', peerId: peer(1), topic: 'group', reason: i % 3 ? 'bad_signature' : 'malformed' })
    bus.emit({ type: 'message.rejected', peerId: peer(2), topic: 'context', reason: 'undecryptable' })
    bus.emit({ type: 'peer.rate_limited', peerId: peer(2), what: 'inbound deltas (queue full)', dropped: 40 })
    expect(lines).toHaveLength(0) // nothing before the window closes
    await new Promise((r) => setTimeout(r, 120))
    await settle()
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatchObject({ level: 40, event: 'message.rejected', peerId: peer(1), count: 30, reasons: { malformed: 10, bad_signature: 20 } })
    expect(lines[0]!.msg).toBe('rejected 30 group messages from peer 12D3Ko…xxxx: malformed ×10, bad_signature ×20')
    expect(lines[1]).toMatchObject({ peerId: peer(2), count: 1, reasons: { undecryptable: 1 } })
    expect(lines[2]).toMatchObject({ event: 'peer.rate_limited', peerId: peer(2), count: 40 })
    // a detach writes what is pending
    bus.emit({ type: 'message.rejected', peerId: peer(3), topic: 'group', reason: 'wrong_topic' })
    log.detach()
    await settle()
    expect(lines).toHaveLength(4)
    bus.emit({ type: 'group.deleted', groupId: 'a' })
    await settle()
    expect(lines).toHaveLength(4)
  })
})
