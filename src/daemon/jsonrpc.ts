import { z } from 'zod'
import { MeroError, isMeroError } from '../core/primitives/errors.js'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../core/primitives/json-depth.js'
import type { MethodContext, MethodTable } from './methods/types.js'

/** JSON-RPC 2.0 error codes (DESIGN §4); application errors use MeroError codes ≥ 1000. */
export const PARSE_ERROR = -32700
export const INVALID_REQUEST = -32600
export const METHOD_NOT_FOUND = -32601
export const INVALID_PARAMS = -32602
export const INTERNAL_ERROR = -32603

type Id = string | number | null

export interface RpcErrorObject {
  code: number
  message: string
  data?: { kind: string; [k: string]: unknown }
}

export type RpcResponse = { jsonrpc: '2.0'; id: Id; result: unknown } | { jsonrpc: '2.0'; id: Id; error: RpcErrorObject }

export const MAX_BATCH = 1000

export function errorResponse(id: Id, code: number, message: string, kind?: string, extra?: Record<string, unknown>): RpcResponse {
  return { jsonrpc: '2.0', id, error: { code, message, ...(kind ? { data: { kind, ...extra } } : {}) } }
}

export interface DispatchHooks {
  onCall?(method: string, outcome: string, seconds: number): void
  onInternalError?(method: string, error: unknown): void
}

/** Dispatches a parsed body (single or batch). Returns undefined when nothing is to be sent back. */
export async function dispatch(body: unknown, methods: MethodTable, ctx: MethodContext, hooks: DispatchHooks = {}): Promise<RpcResponse | RpcResponse[] | undefined> {
  if (Array.isArray(body)) {
    if (body.length === 0) return errorResponse(null, INVALID_REQUEST, 'invalid request: an empty batch', 'InvalidRequest')
    if (body.length > MAX_BATCH) return errorResponse(null, INVALID_REQUEST, `invalid request: a batch holds at most ${MAX_BATCH} calls`, 'InvalidRequest')
    const out = (await Promise.all(body.map((r) => dispatchOne(r, methods, ctx, hooks)))).filter((r): r is RpcResponse => r !== undefined)
    return out.length ? out : undefined
  }
  return dispatchOne(body, methods, ctx, hooks)
}

async function dispatchOne(req: unknown, methods: MethodTable, ctx: MethodContext, hooks: DispatchHooks): Promise<RpcResponse | undefined> {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return errorResponse(null, INVALID_REQUEST, 'invalid request: expected a JSON-RPC 2.0 request object', 'InvalidRequest')
  }
  const r = req as Record<string, unknown>
  const hasId = 'id' in r
  const id = r.id
  if (hasId && !(typeof id === 'string' || typeof id === 'number' || id === null)) {
    return errorResponse(null, INVALID_REQUEST, "invalid request: 'id' must be a string, a number or null", 'InvalidRequest')
  }
  const rid = (hasId ? id : null) as Id
  if (r.jsonrpc !== '2.0') return errorResponse(rid, INVALID_REQUEST, "invalid request: 'jsonrpc' must be \"2.0\"", 'InvalidRequest')
  if (typeof r.method !== 'string' || r.method === '') return errorResponse(rid, INVALID_REQUEST, "invalid request: 'method' must be a non-empty string", 'InvalidRequest')
  const name = r.method

  const def = Object.hasOwn(methods, name) ? methods[name] : undefined
  if (!def) {
    return hasId ? errorResponse(rid, METHOD_NOT_FOUND, `method not found: '${name}'; \`rpc.discover\` lists the methods`, 'MethodNotFound') : undefined
  }
  if (r.params !== undefined && (typeof r.params !== 'object' || r.params === null || Array.isArray(r.params))) {
    return hasId ? errorResponse(rid, INVALID_PARAMS, `invalid params for ${name}: params must be an object of named parameters`, 'InvalidParams') : undefined
  }
  if (nestsDeeperThan(r.params, MAX_JSON_DEPTH)) {
    hooks.onCall?.(name, 'InvalidParams', 0)
    return hasId ? errorResponse(rid, INVALID_PARAMS, `invalid params for ${name}: the params nest deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`, 'InvalidParams') : undefined
  }
  const parsed = def.params.safeParse(r.params ?? {})
  if (!parsed.success) {
    hooks.onCall?.(name, 'InvalidParams', 0)
    return hasId ? errorResponse(rid, INVALID_PARAMS, `invalid params for ${name}: ${describeIssues(parsed.error)}`, 'InvalidParams') : undefined
  }

  const started = process.hrtime.bigint()
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9
  try {
    const result = await def.handler(parsed.data, ctx)
    hooks.onCall?.(name, 'ok', seconds())
    return hasId ? { jsonrpc: '2.0', id: rid, result: result === undefined ? null : result } : undefined
  } catch (e) {
    if (isMeroError(e)) {
      hooks.onCall?.(name, e.kind, seconds())
      return hasId ? errorResponse(rid, e.code, e.message, e.kind, e.details) : undefined
    }
    if (e instanceof z.ZodError) {
      hooks.onCall?.(name, 'InvalidParams', seconds())
      return hasId ? errorResponse(rid, INVALID_PARAMS, `invalid params for ${name}: ${describeIssues(e)}`, 'InvalidParams') : undefined
    }
    hooks.onCall?.(name, 'Internal', seconds())
    hooks.onInternalError?.(name, e)
    return hasId ? errorResponse(rid, INTERNAL_ERROR, `internal error in ${name}: ${(e as Error)?.message ?? String(e)}`, 'Internal') : undefined
  }
}

/** "'groupId': expected string, received number; 'role': ..." */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${[...i.path, k].join('.')}'`).join(', ')}`
      const where = i.path.length ? `'${i.path.join('.')}'` : 'params'
      return `${where}: ${i.message.replace(/^Invalid input: /, '')}`
    })
    .join('; ')
}

export { MeroError }
