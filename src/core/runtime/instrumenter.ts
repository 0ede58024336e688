import { ERROR_KINDS, MeroError, type ErrorKind } from '../primitives/errors.js'
import { instrumentModule, type InstrumentedModule } from './instrument.js'

/**
 * Makes the metered module of a wasm module (instrument.ts); throws a MeroError (InvalidModule).
 * Where it runs is the caller's choice: in this thread (`instrumentInProcess`: binaryen, once
 * loaded, stays for the life of the process, which suits tools and tests), or elsewhere (merod
 * runs it in a child process that ends, so that none of binaryen stays in the node).
 */
export type Instrumenter = (bytes: Uint8Array, maxMemoryPages: number) => Promise<InstrumentedModule>

export const instrumentInProcess: Instrumenter = instrumentModule

/** A request to instrument a module, and its answer, as they cross to another thread or process. */
export interface InstrumentJob {
  id: number
  bytes: Uint8Array
  maxMemoryPages: number
}
export type InstrumentReply = { id: number; result: InstrumentedModule; error?: undefined } | { id: number; result?: undefined; error: { kind?: string; message: string; details?: unknown } }

/** Runs one job here (the other side of the crossing): its answer, a failure included. */
export async function answerJob(job: InstrumentJob): Promise<InstrumentReply> {
  try {
    return { id: job.id, result: await instrumentModule(job.bytes, job.maxMemoryPages) }
  } catch (e) {
    const err = e as { kind?: unknown; message?: unknown; details?: unknown }
    return { id: job.id, error: { kind: typeof err?.kind === 'string' ? err.kind : undefined, message: String(err?.message ?? e), ...(err?.details ? { details: err.details } : {}) } }
  }
}

/** The error an answer carries, as the MeroError it was (a module at fault is InvalidModule). */
export function replyError(e: { kind?: string; message: string; details?: unknown }): MeroError {
  if (e.kind && Object.hasOwn(ERROR_KINDS, e.kind)) return new MeroError(e.kind as ErrorKind, e.message, e.details as Record<string, unknown> | undefined)
  return new MeroError('InvalidModule', `the module could not be instrumented: ${e.message}`)
}
