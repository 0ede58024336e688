import { RPC, type RpcMethod } from '../../api/methods.js'
import { aliasHandlers } from './alias.js'
import { appHandlers } from './app.js'
import { blobHandlers } from './blob.js'
import { contextHandlers } from './context.js'
import { contextSyncHandlers } from './context-sync.js'
import { groupHandlers } from './group.js'
import { nodeHandlers } from './node.js'
import { peersHandlers } from './peers.js'
import type { Handler, MethodTable } from './types.js'

/** Every method of the contract (api/methods.ts) with its handler: one module per family, plus `rpc.discover`. */
export function allMethods(): MethodTable {
  const handlers: { [M in RpcMethod]: Handler<M> } = {
    ...nodeHandlers,
    ...peersHandlers,
    ...groupHandlers,
    ...contextHandlers,
    ...contextSyncHandlers,
    ...appHandlers,
    ...blobHandlers,
    ...aliasHandlers,
    'rpc.discover': () => ({
      methods: Object.entries(RPC)
        .map(([name, spec]) => ({ name, description: spec.description }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }),
  }
  const table: MethodTable = {}
  for (const name of Object.keys(RPC) as RpcMethod[]) {
    table[name] = { ...RPC[name], handler: handlers[name] as MethodTable[string]['handler'] }
  }
  return table
}
