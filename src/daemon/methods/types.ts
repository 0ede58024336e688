import type { z } from 'zod'
import type { RpcArgs, RpcMethod, RpcResult } from '../../api/methods.js'
import type { MeroNode } from '../../core/node/node.js'
import type { BackupManifest } from '../../api/node-files.js'
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

/** The implementation of a method of the contract (api/methods.ts): its params parsed, its result typed. */
export type Handler<M extends RpcMethod> = (params: RpcArgs<M>, ctx: MethodContext) => RpcResult<M> | Promise<RpcResult<M>>

/** The handlers of one method family, e.g. Handlers<'group'> for every `group.*` method. */
export type Handlers<Family extends string> = { [M in RpcMethod as M extends `${Family}.${string}` ? M : never]: Handler<M> }

/** A method as the server runs it: the contract's description and schema, and its handler. */
export interface MethodDef {
  description: string
  params: z.ZodType
  handler: (params: unknown, ctx: MethodContext) => unknown
}

export type MethodTable = Record<string, MethodDef>
