import type { ApplicationMeta } from '../../core/context/applications.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58 } from '../../core/primitives/encoding.js'
import { parseBlobId } from '../../core/primitives/ids.js'
import { downloadToBlob } from '../app-download.js'
import { resolveId } from './resolve.js'
import type { Handlers } from './types.js'

function withAlias(node: MeroNode, meta: ApplicationMeta) {
  return { ...meta, alias: node.aliases.aliasesOf('application', meta.applicationId)[0] ?? null }
}

function resolveApp(node: MeroNode, text: string): Buffer {
  return fromBase58(resolveId(node, 'application', text), 'application id', 32)
}

/** app.* — installed applications (signed packages and development modules). */
export const appHandlers = {
  'app.install': async ({ blobId, url, source, alias }, { node }) => {
    const id = url !== undefined ? await downloadToBlob(node.blobs, url, node.applications.maxFetchBytes) : parseBlobId(blobId!)
    if (url !== undefined) source ??= url
    try {
      const meta = await node.applications.installFromBlob(id, source)
      if (alias) node.aliases.create('application', alias, meta.applicationId, true)
      return withAlias(node, meta)
    } finally {
      // the upload's own hold: the application holds the bytes now (or they were refused)
      if (node.blobs.get(id)?.holders.includes('user')) node.blobs.release(id, 'user')
    }
  },
  'app.list': (_p, { node }) => ({ applications: node.applications.list().map((m) => withAlias(node, m)) }),
  'app.get': ({ application }, { node }) => withAlias(node, node.applications.require(resolveApp(node, application))),
  'app.uninstall': ({ application }, { node }) => {
    const id = resolveApp(node, application)
    const meta = node.applications.require(id)
    node.applications.uninstall(id, node.contextsUsing(id))
    node.runtime.evict(id)
    node.aliases.forget('application', meta.applicationId)
    return { applicationId: meta.applicationId, uninstalled: true }
  },
} satisfies Handlers<'app'>
