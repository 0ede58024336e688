import { z } from 'zod'
import type { LostSummary } from '../core/node/lost-writes.js'

/**
 * What merod reports about a node's files, which meroctl reads: the manifest of a backup
 * (backup.json, and the result of `node.backup`), and what `merod restore` and `merod repair`
 * print (as JSON) for `meroctl node restore` and `node repair`.
 */
export const BackupManifestSchema = z.object({
  format: z.number().int(),
  createdAt: z.number(),
  node: z.string(),
  identity: z.string(),
  peerId: z.string(),
  merod: z.string(),
  schemaVersion: z.number().int(),
  sequence: z.string(),
  rows: z.record(z.string(), z.number()),
  bytes: z.number(),
  blobs: z.object({ count: z.number(), chunks: z.number(), bytes: z.number(), missing: z.array(z.string()) }),
  contexts: z.array(z.object({ contextId: z.string(), groupId: z.string(), rootHash: z.string(), deltas: z.number() })),
  groups: z.array(z.object({ groupId: z.string(), stateHash: z.string() })),
  durationMs: z.number(),
  /** The store key's id when the node is encrypted at rest: the backup is encrypted under it too. */
  storeKeyId: z.string().optional(),
})

export type BackupManifest = z.infer<typeof BackupManifestSchema>

/** What `merod restore` did (printed as JSON for meroctl). */
export interface RestoreResult {
  node: string
  dir: string
  from: string
  identity: string
  peerId: string
  contexts: number
  groups: number
  /** Where the node's previous files were moved (when the node existed). */
  replacedTo?: string
  /** Schema migrations run on the restored store (a backup of an older merod). */
  migrated: string[]
}

/** What `merod repair` found, recovered and lost (printed as JSON for meroctl). */
export interface RepairReport {
  node: string
  data: string
  /** Nothing needed repair: every acknowledged write was in the logs. */
  sound: boolean
  problems: string[]
  /** The last write acknowledged before the node stopped, when the store recorded it. */
  acknowledged?: string
  /** The last write the replay recovered. */
  recovered: string
  /** Acknowledged writes not recovered (by sequence number), when known. */
  lostWrites?: number
  /** Where the damaged logs were copied before the replay. */
  savedTo?: string
  /** The dropped records that could still be read, as rows, deltas and ops. */
  unreplayed: LostSummary
  schema: { found: number; version: number; migrated: string[] }
}
