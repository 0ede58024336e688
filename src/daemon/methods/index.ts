import { z } from 'zod'
import { aliasMethods } from './alias.js'
import { appMethods } from './app.js'
import { blobMethods } from './blob.js'
import { contextMethods } from './context.js'
import { contextSyncMethods } from './context-sync.js'
import { groupMethods } from './group.js'
import { nodeMethods } from './node.js'
import { peersMethods } from './peers.js'
import { method, type MethodTable } from './types.js'

/** Every RPC method family, one handler module each, plus `rpc.discover`. */
export function allMethods(): MethodTable {
  const table: MethodTable = { ...nodeMethods, ...peersMethods, ...groupMethods, ...contextMethods, ...contextSyncMethods, ...appMethods, ...blobMethods, ...aliasMethods }
  table['rpc.discover'] = method({
    description: 'List the methods this daemon serves',
    params: z.object({}).strict(),
    handler: () => ({
      methods: Object.entries(table)
        .map(([name, def]) => ({ name, description: def.description }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }),
  })
  return table
}
