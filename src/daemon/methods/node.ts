import { isAbsolute } from 'node:path'
import { z } from 'zod'
import { method, type MethodTable } from './types.js'

/** node.* — the daemon itself. */
export const nodeMethods: MethodTable = {
  'node.status': method({
    description: 'Identity, peer id, version, socket and uptime of this node',
    params: z.object({}).strict(),
    handler: (_p, { node, daemon }) => ({
      ...node.status(),
      nodeName: daemon.nodeName,
      version: daemon.version,
      socket: daemon.socket,
      home: daemon.home,
      uptimeMs: Date.now() - daemon.startedAt,
      pid: process.pid,
    }),
  }),
  'node.backup': method({
    description: 'Back the running node up into a folder: a consistent copy of its store, its blobs, identity and config',
    params: z.object({ dir: z.string().min(1).max(4096).refine(isAbsolute, { message: 'expected an absolute path' }) }).strict(),
    handler: ({ dir }, { daemon }) => daemon.backup(dir),
  }),
  'node.stop': method({
    description: 'Stop the daemon gracefully',
    params: z.object({}).strict(),
    handler: (_p, { daemon }) => {
      daemon.requestStop()
      return { stopping: true, pid: process.pid }
    },
  }),
}
