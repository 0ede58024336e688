import { MeroError, type ErrorKind, ERROR_KINDS } from '../primitives/errors.js'
import type { HostState } from './host-state.js'
import type { RuntimeLimits } from './limits.js'
import type { ExecutionOutcome } from './engine.js'
import type { CallOrigin } from './session.js'

/**
 * What the daemon's thread and an execution worker say to each other (see execution-pool.ts).
 *
 * A job goes to the worker as a `RunMessage` on its parent port. While the method runs, each call
 * it makes into the context's state is a `HostRequest` on the same port: the worker then blocks
 * (Atomics.wait on a shared flag) until the daemon's thread has answered on the reply port and
 * raised the flag, and reads the answer synchronously (receiveMessageOnPort). The job ends with a
 * `DoneMessage` or a `FailedMessage`.
 */

/** A compiled module as it travels to a worker (a WebAssembly.Module is shared, not copied). */
export interface ModuleTransfer {
  key: string
  applicationId: Uint8Array
  compiled: WebAssembly.Module
  entryPoints: string[]
  methods: string[]
  readOnlyMethods: string[]
  callableMethods: string[]
  maxMemoryPages: number
  initialMemoryPages: number
  start?: string
}

export interface RunMessage {
  type: 'run'
  id: number
  moduleKey: string
  /** Sent when the worker does not hold the module yet. */
  module?: ModuleTransfer
  /** Modules the worker forgets first (the pool keeps each worker's set bounded). */
  drop?: string[]
  method: string
  args: Uint8Array
  contextId: Uint8Array
  executor: Uint8Array
  readOnly: boolean
  limits: RuntimeLimits
  /** Whether the node's blobs are available (blob_announce_to_context). */
  blobs: boolean
  origin?: CallOrigin
}

export interface HostRequest {
  type: 'host'
  id: number
  /** A HostState method, or `announce` (HostBlobs). */
  fn: string
  args: unknown[]
}

export interface DoneMessage {
  type: 'done'
  id: number
  outcome: ExecutionOutcome
}

export interface FailedMessage {
  type: 'failed'
  id: number
  error: SerializedError
}

/** The worker has loaded and listens: sent once, first (a call's deadline starts then). */
export interface ReadyMessage {
  type: 'ready'
}

export type WorkerMessage = HostRequest | DoneMessage | FailedMessage | ReadyMessage

/** The answer to a HostRequest, on the reply port. */
export type HostReply = { ok: true; value: unknown } | { ok: false; error: SerializedError }

export interface SerializedError {
  kind: ErrorKind
  message: string
  details?: Record<string, unknown>
}

/** Every HostState method: what a worker may ask of the daemon's thread. */
export const HOST_STATE_METHODS = [
  'read', 'write', 'remove',
  'mapGet', 'mapInsert', 'mapRemove', 'mapContains', 'mapLen', 'mapEntries', 'mapClear',
  'setAdd', 'setRemove', 'setContains', 'setLen', 'setValues',
  'counterAdd', 'counterValue',
  'vectorPush', 'vectorGet', 'vectorSet', 'vectorPop', 'vectorLen',
  'rootHash',
  'mapScan', 'setScan',
  'sortedMapGet', 'sortedMapInsert', 'sortedMapRemove', 'sortedMapContains', 'sortedMapLen', 'sortedMapScan',
  'sortedSetAdd', 'sortedSetRemove', 'sortedSetContains', 'sortedSetLen', 'sortedSetScan',
  'registerGet', 'registerSet', 'registerClear',
  'gcounterAdd', 'gcounterValue',
  'textInsert', 'textDelete', 'textLen', 'textRead',
  'privateRead', 'privateWrite', 'privateRemove',
] as const satisfies readonly (keyof HostState)[]

// a HostState method missing from the list above fails to compile here
type Missing = Exclude<keyof HostState, (typeof HOST_STATE_METHODS)[number]>
const complete: Missing extends never ? true : Missing = true
void complete

export const HOST_STATE_METHOD_SET: ReadonlySet<string> = new Set(HOST_STATE_METHODS)
export const ANNOUNCE = 'announce'

export function serializeError(e: unknown): SerializedError {
  if (e instanceof MeroError) return { kind: e.kind, message: e.message, ...(e.details ? { details: e.details } : {}) }
  return { kind: 'Internal', message: (e as Error)?.message ?? String(e) }
}

export function deserializeError(e: SerializedError): MeroError {
  const kind: ErrorKind = e && typeof e.kind === 'string' && e.kind in ERROR_KINDS ? e.kind : 'Internal'
  return new MeroError(kind, String(e?.message ?? 'unknown error'), e?.details)
}

/**
 * A value made ready for postMessage. Structured cloning copies a typed array's whole backing
 * buffer, and a Buffer of Node's pool sits in a shared 8 KiB one: each such view is copied out
 * first. A listing (an array of byte strings, or of key-value pairs) goes as one buffer of lengths
 * and one of bytes, transferred rather than copied, instead of a clone per element.
 */
export type Packed = unknown

interface PackedList {
  $list: true
  pairs: boolean
  count: number
  lengths: Uint32Array
  bytes: Uint8Array
}

export function pack(value: unknown, transfer: ArrayBuffer[]): Packed {
  if (value instanceof Uint8Array) return exact(value)
  if (Array.isArray(value) && value.length > 0) {
    const pairs = Array.isArray(value[0])
    const flat = (pairs ? value.flat() : value) as unknown[]
    if (flat.every((v) => v instanceof Uint8Array)) {
      const items = flat as Uint8Array[]
      const lengths = new Uint32Array(items.length)
      let size = 0
      for (let i = 0; i < items.length; i++) size += lengths[i] = items[i]!.length
      const bytes = new Uint8Array(size)
      let at = 0
      for (const it of items) {
        bytes.set(it, at)
        at += it.length
      }
      transfer.push(lengths.buffer as ArrayBuffer, bytes.buffer as ArrayBuffer)
      const list: PackedList = { $list: true, pairs, count: value.length, lengths, bytes }
      return list
    }
    return value.map((v) => pack(v, transfer))
  }
  return value
}

export function unpack(value: Packed): unknown {
  if (value && typeof value === 'object' && (value as PackedList).$list === true) {
    const { pairs, count, lengths, bytes } = value as PackedList
    const items: Uint8Array[] = []
    let at = 0
    for (let i = 0; i < lengths.length; i++) {
      items.push(bytes.subarray(at, at + lengths[i]!))
      at += lengths[i]!
    }
    if (!pairs) return items
    const out: [Uint8Array, Uint8Array][] = []
    for (let i = 0; i < count; i++) out.push([items[2 * i]!, items[2 * i + 1]!])
    return out
  }
  return value
}

/** A view over exactly its own bytes (a copy when it shares a larger buffer). */
export function exact(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b)
}
