import { createInterface } from 'node:readline'
import { ERROR_KINDS } from '../core/primitives/errors.js'
import { describeError } from './base-command.js'
import { RpcError, type RpcClient } from './rpc-client.js'

/**
 * Script mode (`meroctl call --batch`, `meroctl group batch`): one JSON object per input line,
 * one JSON line out per input line, in the same order — what the single command prints under
 * --json, a result or an error document, never stopping at an error. Lines travel as JSON-RPC
 * batches over the one connection of `client`, a chunk at a time, so a script pays neither a
 * process nor a round trip per call.
 */
export interface BatchRequest {
  method: string
  params: Record<string, unknown>
}

/** Turns one parsed input line into a request, or throws an error that names what is wrong. */
export type LineToRequest = (line: Record<string, unknown>) => BatchRequest

/** Calls per JSON-RPC batch (the daemon takes at most 1000). */
const CHUNK = 500

/**
 * With `sequential`, each line is its own request, answered before the next leaves: for
 * operations that build on the ones before them (governance), where the daemon's concurrent
 * handling of a JSON-RPC batch would let a later line overtake an earlier one.
 */
export async function runBatch(client: RpcClient, input: NodeJS.ReadableStream, out: NodeJS.WritableStream, toRequest: LineToRequest, opts: { sequential?: boolean } = {}): Promise<{ lines: number; failed: number }> {
  const chunkSize = opts.sequential ? 1 : CHUNK
  const lines = createInterface({ input, crlfDelay: Infinity })
  let pending: (BatchRequest | { error: string })[] = []
  let sent = Promise.resolve()
  let count = 0
  let failed = 0

  const inFlight: Promise<void>[] = []
  const flush = async () => {
    const chunk = pending
    pending = []
    // the request leaves now (queued on the one connection); its answer is written after the previous one's
    const answer = answerChunk(client, chunk)
    sent = sent.then(async () => {
      const docs = await answer
      failed += docs.filter((d) => 'error' in d).length
      const text = docs.map((d) => JSON.stringify(d)).join('\n') + '\n'
      if (!out.write(text)) await new Promise((r) => out.once('drain', r))
    })
    inFlight.push(sent)
    // reading runs at most two chunks ahead of the answers written
    if (inFlight.length > (opts.sequential ? 0 : 2)) await inFlight.shift()
  }

  let lineNo = 0
  for await (const text of lines) {
    lineNo++
    if (!text.trim()) continue
    count++
    pending.push(parseLine(text, lineNo, toRequest))
    if (pending.length >= chunkSize) await flush()
  }
  if (pending.length) await flush()
  await sent
  return { lines: count, failed }
}

function parseLine(text: string, lineNo: number, toRequest: LineToRequest): BatchRequest | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { error: `line ${lineNo}: not valid JSON (${(e as Error).message})` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: `line ${lineNo}: expected a JSON object` }
  try {
    return toRequest(value as Record<string, unknown>)
  } catch (e) {
    return { error: `line ${lineNo}: ${(e as Error).message}` }
  }
}

type Doc = Record<string, unknown>

/** One JSON-RPC batch for the chunk's valid lines; the documents in the chunk's order. */
async function answerChunk(client: RpcClient, chunk: (BatchRequest | { error: string })[]): Promise<Doc[]> {
  const requests = chunk.flatMap((r, i) => ('method' in r ? [{ jsonrpc: '2.0', id: i, method: r.method, params: r.params }] : []))
  let answers: { id: number; result?: unknown; error?: { code: number; message: string; data?: { kind?: string } } }[] = []
  let failure: Doc | undefined
  if (requests.length) {
    try {
      const body = await client.post(requests)
      answers = Array.isArray(body) ? body : [body as (typeof answers)[number]]
    } catch (e) {
      failure = errorDoc(e as Error) // the daemon went away or timed out: every call of the chunk says so
    }
  }
  const byId = new Map(answers.map((a) => [a.id, a]))
  return chunk.map((r, i) => {
    if (!('method' in r)) return { error: { kind: 'InvalidInput', code: ERROR_KINDS.InvalidInput, message: r.error } }
    if (failure) return failure
    const a = byId.get(i)
    if (!a) return { error: { kind: 'Internal', code: ERROR_KINDS.Internal, message: 'the daemon sent no answer for this call' } }
    if (a.error) return errorDoc(new RpcError(a.error.code, a.error.message, a.error.data?.kind ?? 'Internal', a.error.data))
    return a.result as Doc
  })
}

function errorDoc(e: Error): Doc {
  const { kind, message, code, data } = describeError(e)
  return { error: { kind, message, ...(code !== undefined ? { code } : {}), ...(data ? { data } : {}) } }
}
