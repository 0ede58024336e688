import type { Handlers } from './types.js'

/** node.* — the daemon itself. */
export const nodeHandlers = {
  'node.status': (_p, { node, daemon }) => ({
    ...node.status(),
    nodeName: daemon.nodeName,
    version: daemon.version,
    socket: daemon.socket,
    home: daemon.home,
    uptimeMs: Date.now() - daemon.startedAt,
    pid: process.pid,
    ...(node.store.encryption ? { storeKeyId: node.store.encryption.keyId } : {}),
  }),
  'node.backup': ({ dir }, { daemon }) => daemon.backup(dir),
  'node.stop': (_p, { daemon }) => {
    daemon.requestStop()
    return { stopping: true, pid: process.pid }
  },
} satisfies Handlers<'node'>
