import { MeroError } from '../primitives/errors.js'

/** The limits of DESIGN §7. Every one is enforced; hitting one is a LimitExceeded error. */
export interface RuntimeLimits {
  /** Module size accepted at install. */
  maxModuleBytes: number
  /** Linear memory cap in 64 KiB pages; growth past it fails (baked into the compiled module). */
  maxMemoryPages: number
  /**
   * Metering points per call (roughly one per wasm expression executed). The default stops a
   * runaway loop in about 0.4 s on this machine while leaving a kv-store `set` (about 41k points)
   * thousands of times the room it needs.
   */
  instructionBudget: number
  maxLogs: number
  maxLogBytes: number
  maxEvents: number
  maxEventKindBytes: number
  maxEventDataBytes: number
  maxReturnBytes: number
  maxKeyBytes: number
  maxValueBytes: number
  /** Collection names (the app's field names). */
  maxCollectionNameBytes: number
  maxRegisters: number
  /** Sum of all register contents during one call. */
  maxRegisterBytes: number
  /** One random_bytes request. */
  maxRandomBytes: number
}

const MiB = 1024 * 1024

export const DEFAULT_LIMITS: Readonly<RuntimeLimits> = Object.freeze({
  maxModuleBytes: 20 * MiB,
  maxMemoryPages: 1024,
  instructionBudget: 200_000_000,
  maxLogs: 1024,
  maxLogBytes: 16 * 1024,
  maxEvents: 100,
  maxEventKindBytes: 100,
  maxEventDataBytes: 16 * 1024,
  maxReturnBytes: 16 * MiB,
  maxKeyBytes: 1 * MiB,
  maxValueBytes: 10 * MiB,
  maxCollectionNameBytes: 256,
  maxRegisters: 100,
  maxRegisterBytes: 256 * MiB,
  maxRandomBytes: 64 * 1024,
})

/** Merges overrides into the defaults, refusing anything that is not a positive safe integer. */
export function resolveLimits(base: Readonly<RuntimeLimits>, overrides?: Partial<RuntimeLimits>): RuntimeLimits {
  const out = { ...base }
  if (!overrides) return out
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue
    if (!(name in base)) throw new MeroError('InvalidInput', `unknown runtime limit '${name}'`)
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new MeroError('InvalidInput', `runtime limit '${name}' must be a positive integer, got ${String(value)}`)
    }
    out[name as keyof RuntimeLimits] = value
  }
  if (out.maxMemoryPages > 65536) throw new MeroError('InvalidInput', 'runtime limit maxMemoryPages cannot exceed 65536 (4 GiB, the wasm32 maximum)')
  return out
}
