import { randomBytes } from 'node:crypto'
import type { ContextManager } from '../context/context-manager.js'
import type { SignedDeltaWire } from '../context/delta-envelope.js'
import type { GroupStore } from '../governance/group-store.js'
import { checkContextAuth, type AuthProvider } from '../governance/stream-auth.js'
import { FRAME_TIMEOUT_MS, type FrameChannel } from '../network/transport.js'
import { fromBase58 } from '../primitives/encoding.js'
import { MeroError } from '../primitives/errors.js'
import { decodeFrame, encodeFrame, MAX_DELTAS_PER_PAGE, type KeyComponent, type SyncFrame } from './wire.js'
import { parseGroupId } from '../primitives/ids.js'

/**
 * Context sync over the `/mero/sync/1.0.0` stream (seed 001's SyncManager; DESIGN §9):
 *
 *   requester                          server
 *   ContextHello{contextId}      →
 *                                ←     Challenge{nonce}   (or Denied)
 *   Auth{member}                 →     a signature over the fresh nonce by a member that may read
 *                                ←     Denied{reason}     (then the stream ends)
 *   ContextHeadsRequest          →
 *                                ←     ContextHeads{heads, depths, rootHash, deltaCount}
 *   DeltaDiffRequest{have}       →
 *                                ←     Deltas{…, more} … Deltas{…, more: false}
 *   DeltasRequest{ids}           →
 *                                ←     Deltas{…, more: false}
 *   KeyRequest                   →
 *                                ←     ContextKey{keys, applicationId}   (the current epoch's keys: its frontier's)
 *   SnapshotRequest              →
 *                                ←     ContextHeads (the boundary) SnapshotPage{…, more} …
 *   Bye                          →
 *
 * The server reads a snapshot's pages and its boundary synchronously, so they describe one state.
 */
export const PAGE_BYTES = 2 * 1024 * 1024
/** Deltas in the first page of a reply (see sendDeltas). */
const FIRST_PAGE_DELTAS = 64
export const SNAPSHOT_PAGE_RECORDS = 2000
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024

async function send(ch: FrameChannel, f: SyncFrame): Promise<void> {
  await ch.send(encodeFrame(f))
}

async function receive(ch: FrameChannel, timeoutMs: number): Promise<SyncFrame> {
  return decodeFrame(await ch.receive(timeoutMs))
}

export interface ContextSyncServerDeps {
  contexts: ContextManager
  groups: GroupStore
  /** This node's peer id: the server a requester's proof must name. */
  self: string
}

/** Serves one context sync stream whose ContextHello was already read. */
export async function serveContextSync(ch: FrameChannel, hello: Extract<SyncFrame, { type: 'ContextHello' }>, d: ContextSyncServerDeps, opts: { timeoutMs?: number } = {}): Promise<{ served: number; denied?: string }> {
  const timeout = opts.timeoutMs ?? FRAME_TIMEOUT_MS
  const contextId = hello.contextId
  let served = 0
  try {
    const meta = d.contexts.get(contextId)
    if (!meta) {
      await send(ch, { type: 'Denied', reason: 'this node does not hold the context' })
      return { served, denied: 'unknown context' }
    }
    const nonce = randomBytes(32)
    await send(ch, { type: 'Challenge', nonce })
    const auth = await receive(ch, timeout)
    if (auth.type !== 'Auth') throw new MeroError('InvalidInput', `expected Auth, got ${auth.type}`)
    const denied = checkContextAuth(d.groups, meta.groupId, contextId, nonce, auth.auth, d.self)
    if (denied) {
      await send(ch, { type: 'Denied', reason: denied })
      return { served, denied }
    }
    for (;;) {
      const req = await receive(ch, timeout)
      switch (req.type) {
        case 'Bye':
          return { served }
        case 'ContextHeadsRequest':
          await send(ch, headsFrame(d.contexts, contextId))
          break
        case 'DeltaDiffRequest': {
          const now = d.contexts.require(contextId)
          const ids = d.contexts.log.missingFor(contextId, now.heads, req.have)
          served += await sendDeltas(ch, d.contexts, contextId, ids)
          break
        }
        case 'DeltasRequest':
          served += await sendDeltas(ch, d.contexts, contextId, req.ids)
          break
        case 'KeyRequest': {
          const m = d.contexts.require(contextId)
          await send(ch, { type: 'ContextKey', keys: d.groups.keysToShare(m.groupId, contextId.toString('hex')), applicationId: m.applicationId })
          break
        }
        case 'SnapshotRequest': {
          // one synchronous read: the boundary and every page describe the same state
          const boundary = headsFrame(d.contexts, contextId)
          const state = d.contexts.state(contextId)
          const pages: Buffer[][] = []
          let after: Buffer | undefined
          let bytes = 0
          do {
            const page = state.exportSnapshot({ after, limit: SNAPSHOT_PAGE_RECORDS })
            pages.push(page.records)
            for (const r of page.records) bytes += r.length
            if (bytes > MAX_SNAPSHOT_BYTES) throw new MeroError('LimitExceeded', 'the state is too large for a snapshot')
            after = page.next
          } while (after)
          await send(ch, boundary)
          for (let i = 0; i < pages.length; i++) {
            served += pages[i]!.length
            await send(ch, { type: 'SnapshotPage', records: pages[i]!, more: i + 1 < pages.length })
          }
          break
        }
        default:
          throw new MeroError('InvalidInput', `unexpected ${req.type}`)
      }
    }
  } finally {
    ch.close()
  }
}

function headsFrame(contexts: ContextManager, contextId: Buffer): Extract<SyncFrame, { type: 'ContextHeads' }> {
  const meta = contexts.require(contextId)
  const heads = [...meta.heads]
  return { type: 'ContextHeads', heads, depths: heads.map((h) => contexts.log.header(contextId, h)?.depth ?? 0), rootHash: meta.rootHash, deltaCount: meta.deltas }
}

/**
 * Sends the signed deltas of `ids` (those held with a body) in pages bounded by count and bytes.
 * The first pages are small and each is twice the one before: the requester starts verifying and
 * merging while the rest is read and on its way, instead of waiting for one large first page.
 */
async function sendDeltas(ch: FrameChannel, contexts: ContextManager, contextId: Buffer, ids: Buffer[]): Promise<number> {
  let sent = 0
  let page: SignedDeltaWire[] = []
  let bytes = 0
  let pageLimit = FIRST_PAGE_DELTAS
  const flush = async (more: boolean) => {
    await send(ch, { type: 'Deltas', deltas: page, more })
    sent += page.length
    page = []
    bytes = 0
    pageLimit = Math.min(pageLimit * 2, MAX_DELTAS_PER_PAGE)
  }
  for (let i = 0; i < ids.length; i += 256) {
    for (const { wire } of contexts.log.signed(contextId, ids.slice(i, i + 256))) {
      if (page.length && (page.length >= pageLimit || bytes + wire.payload.length > PAGE_BYTES)) await flush(true)
      page.push(wire)
      bytes += wire.payload.length + 200
    }
  }
  await flush(false)
  return sent
}

/** The requester's side of a context sync stream. */
export class ContextSyncClient {
  private constructor(
    private readonly ch: FrameChannel,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Opens the session: ContextHello, the challenge, the proof. Throws ContextNotFound (with
   * `details.peerLacks`) when the peer does not hold the context, NotAuthorized when it refuses us.
   */
  static async open(ch: FrameChannel, contextId: Buffer, auth: AuthProvider, timeoutMs = FRAME_TIMEOUT_MS): Promise<ContextSyncClient> {
    try {
      await send(ch, { type: 'ContextHello', contextId })
      const challenge = await receive(ch, timeoutMs)
      // a denial before the challenge: the peer does not hold the context at all
      if (challenge.type === 'Denied') throw new MeroError('ContextNotFound', 'the peer does not hold the context', { peerLacks: true })
      if (challenge.type !== 'Challenge') throw new MeroError('SyncFailed', `expected Challenge, got ${challenge.type}`)
      await send(ch, { type: 'Auth', auth: auth(challenge.nonce, contextId) })
      return new ContextSyncClient(ch, timeoutMs)
    } catch (e) {
      ch.close()
      throw e
    }
  }

  private async expect<T extends SyncFrame['type']>(type: T): Promise<Extract<SyncFrame, { type: T }>> {
    const f = await receive(this.ch, this.timeoutMs)
    if (f.type === 'Denied') throw new MeroError('NotAuthorized', `the peer refused: ${f.reason}`)
    if (f.type !== type) throw new MeroError('SyncFailed', `expected ${type}, got ${f.type}`)
    return f as Extract<SyncFrame, { type: T }>
  }

  async heads(): Promise<Extract<SyncFrame, { type: 'ContextHeads' }>> {
    await send(this.ch, { type: 'ContextHeadsRequest' })
    return this.expect('ContextHeads')
  }

  /** The keys of the context's current epoch as the peer holds them (checked by GroupStore.acceptKeys), and the application it runs. */
  async key(): Promise<{ keys: KeyComponent[]; applicationId: Buffer }> {
    await send(this.ch, { type: 'KeyRequest' })
    const f = await this.expect('ContextKey')
    return { keys: f.keys, applicationId: f.applicationId }
  }

  /** Every delta the peer holds that is not an ancestor of `have`, page by page. */
  async diff(have: Buffer[], onPage: (deltas: SignedDeltaWire[]) => void | Promise<void>, maxDeltas: number): Promise<number> {
    await send(this.ch, { type: 'DeltaDiffRequest', have })
    return this.pages(onPage, maxDeltas)
  }

  async fetch(ids: Buffer[], onPage: (deltas: SignedDeltaWire[]) => void | Promise<void>): Promise<number> {
    await send(this.ch, { type: 'DeltasRequest', ids })
    return this.pages(onPage, ids.length)
  }

  private async pages(onPage: (deltas: SignedDeltaWire[]) => void | Promise<void>, maxDeltas: number): Promise<number> {
    let n = 0
    for (;;) {
      const page = await this.expect('Deltas')
      n += page.deltas.length
      if (n > maxDeltas) throw new MeroError('LimitExceeded', `the peer sent more than ${maxDeltas} deltas`)
      await onPage(page.deltas)
      if (!page.more) return n
    }
  }

  /** The peer's snapshot: its boundary and every record (bounded in bytes). */
  async snapshot(maxBytes = MAX_SNAPSHOT_BYTES): Promise<{ boundary: Extract<SyncFrame, { type: 'ContextHeads' }>; records: Buffer[] }> {
    await send(this.ch, { type: 'SnapshotRequest' })
    const boundary = await this.expect('ContextHeads')
    const records: Buffer[] = []
    let bytes = 0
    for (;;) {
      const page = await this.expect('SnapshotPage')
      for (const r of page.records) {
        bytes += r.length
        if (bytes > maxBytes) throw new MeroError('LimitExceeded', `the snapshot exceeds ${maxBytes} bytes`)
        records.push(r)
      }
      if (!page.more) return { boundary, records }
    }
  }

  async close(): Promise<void> {
    await send(this.ch, { type: 'Bye' }).catch(() => undefined)
    this.ch.close()
  }
}
