import { describe, expect, it } from 'vitest'
import { describeEvent } from '../../../src/client/tui/describe.js'
import type { NodeEvent } from '../../../src/core/node/events.js'

const at = { seq: 1, ts: 0 }

describe('describeEvent: application delivery and garbage collection', () => {
  it('names the fetched application, its source and size', () => {
    const e = { ...at, type: 'application.fetched', applicationId: 'AppIdAppIdAppIdAppId', groupId: 'ab'.repeat(32), peerId: '12D3KooWPeerPeerPeer', via: 'dht', size: 16793, durationMs: 42 } as NodeEvent
    const d = describeEvent(e)
    expect(d.text).toMatch(/^application AppIdA…ppId fetched from 12D3Ko…Peer \(found in the DHT\): 16.4 KiB in 42 ms$/)
    expect(d.level).toBe('good')
  })

  it('reports what a collection run did, and a failed run as an error', () => {
    const ok = describeEvent({ ...at, type: 'gc.finished', tombstones: 5, blobs: 1, orphanChunks: 2, contexts: 2, durationMs: 3, more: true } as NodeEvent)
    expect(ok).toEqual({ text: 'garbage collection: 5 tombstone(s) in 2 context(s), 1 blob(s), 2 orphan chunk file(s) in 3 ms (more next run)', level: 'info' })
    const failed = describeEvent({ ...at, type: 'gc.finished', tombstones: 0, blobs: 0, contexts: 0, durationMs: 0, more: false, error: 'disk full' } as NodeEvent)
    expect(failed).toEqual({ text: 'garbage collection FAILED: disk full', level: 'error' })
  })
})

describe('describeEvent: sync sessions', () => {
  it('a session with a peer that holds nothing reads as such, not as a failure', () => {
    const skipped = describeEvent({ ...at, type: 'sync.finished', contextId: 'CtxCtxCtxCtxCtx', peerId: '12D3KooWPeerPeerPeer', ok: true, fetched: 0, durationMs: 2, method: 'none', skipped: 'the peer does not hold the context' } as NodeEvent)
    expect(skipped.level).toBe('info')
    expect(skipped.text).toMatch(/^sync with 12D3Ko…Peer for .+: nothing there \(the peer does not hold the context\)$/)
    const failed = describeEvent({ ...at, type: 'sync.finished', contextId: 'CtxCtxCtxCtxCtx', peerId: '12D3KooWPeerPeerPeer', ok: false, fetched: 0, durationMs: 2, error: 'the peer refused: not a member of the group' } as NodeEvent)
    expect(failed).toMatchObject({ level: 'error', text: expect.stringMatching(/^sync FAILED: the peer refused/) })
  })
})
