import type { z } from 'zod'
import type { MeroNode } from '../../core/node/node.js'
import type { BackupManifest } from '../backup.js'
import type { Logger } from '../logging.js'

/** What a handler may use: the node core, the daemon's own facts, and its logger. */
export interface MethodContext {
  node: MeroNode
  daemon: {
    version: string
    socket: string
    home: string
    nodeName: string
    startedAt: number
    /** Stops the daemon after the current response is sent. */
    requestStop(): void
    /** Backs the running node up into an absolute, absent or empty folder. */
    backup(dir: string): Promise<BackupManifest>
  }
  log: Logger
}

export interface MethodDef<S extends z.ZodType = z.ZodType, R = unknown> {
  /** Shown by `rpc.discover`. */
  description: string
  params: S
  handler: (params: z.infer<S>, ctx: MethodContext) => Promise<R> | R
}

export type MethodTable = Record<string, MethodDef>

/** Keeps each handler's params type tied to its schema. */
export function method<S extends z.ZodType, R>(def: MethodDef<S, R>): MethodDef {
  return def as unknown as MethodDef
}
