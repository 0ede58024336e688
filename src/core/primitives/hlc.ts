import { MeroError } from './errors.js'

/**
 * Hybrid logical clock. A timestamp is `time` = (unix milliseconds << 16) | logical counter, in a
 * u64, plus the 32-byte id of the node that issued it. Order: time, then node id bytes; two
 * timestamps from different nodes never compare equal, and one clock never issues the same time
 * twice, so (time, node) names one event. Canonical encoding: u64 little-endian ‖ node (40 bytes).
 */
export interface HlcTimestamp {
  readonly time: bigint
  readonly node: Uint8Array
}

export const HLC_NODE_BYTES = 32
export const HLC_ENCODED_BYTES = 8 + HLC_NODE_BYTES
const COUNTER_BITS = 16n
const COUNTER_MASK = (1n << COUNTER_BITS) - 1n
const U64_MAX = (1n << 64n) - 1n

/** Default bound on how far ahead of our wall clock a received timestamp may be. */
export const DEFAULT_MAX_DRIFT_MS = 5_000

export function hlcPhysicalMs(time: bigint): number {
  return Number(time >> COUNTER_BITS)
}

export function hlcCounter(time: bigint): number {
  return Number(time & COUNTER_MASK)
}

export function hlcTime(ms: number, counter = 0): bigint {
  return (BigInt(ms) << COUNTER_BITS) | BigInt(counter)
}

export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1
  return Buffer.compare(a.node, b.node)
}

export function encodeHlc(ts: HlcTimestamp): Buffer {
  const out = Buffer.allocUnsafe(HLC_ENCODED_BYTES)
  out.writeBigUInt64LE(ts.time, 0)
  out.set(ts.node, 8)
  return out
}

export function decodeHlc(bytes: Uint8Array): HlcTimestamp {
  if (bytes.length !== HLC_ENCODED_BYTES) {
    throw new MeroError('InvalidInput', `an HLC timestamp is ${HLC_ENCODED_BYTES} bytes, got ${bytes.length}`)
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { time: b.readBigUInt64LE(0), node: Buffer.from(b.subarray(8)) }
}

/** Human-readable form for logs: ISO time, counter and a node prefix. */
export function formatHlc(ts: HlcTimestamp): string {
  const node = Buffer.from(ts.node).toString('hex').slice(0, 8)
  return `${new Date(hlcPhysicalMs(ts.time)).toISOString()}+${hlcCounter(ts.time)}@${node}`
}

export interface HlcOptions {
  /** Wall clock in milliseconds (tests inject one). */
  now?: () => number
  /** Received timestamps more than this ahead of the wall clock are refused. */
  maxDriftMs?: number
}

export class Hlc {
  private last = 0n
  private readonly wall: () => number
  readonly maxDriftMs: number
  readonly node: Buffer

  constructor(node: Uint8Array, options: HlcOptions = {}) {
    if (node.length !== HLC_NODE_BYTES) throw new MeroError('InvalidInput', `an HLC node id is ${HLC_NODE_BYTES} bytes, got ${node.length}`)
    const drift = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS
    if (!Number.isSafeInteger(drift) || drift < 0) throw new MeroError('InvalidInput', `maxDriftMs must be a non-negative integer, got ${drift}`)
    this.node = Buffer.from(node)
    this.wall = options.now ?? Date.now
    this.maxDriftMs = drift
  }

  /** A new timestamp, strictly greater than every one issued or received before. */
  now(): HlcTimestamp {
    const physical = hlcTime(Math.floor(this.wall()))
    // When the wall clock is behind (or equal), count up; a counter overflow spills into the
    // millisecond part, which stays monotonic and is corrected as soon as the wall clock catches up.
    this.last = physical > this.last ? physical : this.bump(this.last)
    return { time: this.last, node: this.node }
  }

  /** Folds a remote timestamp in, so that our next timestamp follows it. Refuses drift. */
  receive(remote: HlcTimestamp): void {
    this.check(remote)
    if (remote.time > this.last) this.last = remote.time
  }

  /** Throws when the timestamp is further ahead of our wall clock than the drift bound allows. */
  check(remote: HlcTimestamp): void {
    const ahead = hlcPhysicalMs(remote.time) - Math.floor(this.wall())
    if (ahead > this.maxDriftMs) {
      throw new MeroError('InvalidInput', `timestamp ${formatHlc(remote)} is ${ahead} ms ahead of this node's clock (the bound is ${this.maxDriftMs} ms)`)
    }
  }

  /** The latest timestamp issued or received (0 before the first). */
  get latest(): bigint {
    return this.last
  }

  private bump(time: bigint): bigint {
    if (time >= U64_MAX) throw new MeroError('Internal', 'the hybrid logical clock overflowed')
    return time + 1n
  }
}
