import { z } from 'zod'
import type { ApplicationMeta } from '../../core/context/applications.js'
import type { MeroNode } from '../../core/node/node.js'
import { fromBase58 } from '../../core/primitives/encoding.js'
import { parseBlobId } from '../../core/primitives/ids.js'
import { downloadToBlob } from '../app-download.js'
import { resolveId } from './resolve.js'
import { aliasName, base58Id, idOrAlias } from './schemas.js'
import { method, type MethodTable } from './types.js'

/** app.* — installed applications (signed packages and development modules). */
const application = idOrAlias('application')

function withAlias(node: MeroNode, meta: ApplicationMeta) {
  return { ...meta, alias: node.aliases.aliasesOf('application', meta.applicationId)[0] ?? null }
}

function resolveApp(node: MeroNode, text: string): Buffer {
  return fromBase58(resolveId(node, 'application', text), 'application id', 32)
}

export const appMethods: MethodTable = {
  'app.install': method({
    description: 'Install a signed bundle (.mpk) or a bare wasm module (an unsigned development application), uploaded as a blob (POST /blobs) or downloaded from a URL; verifies, validates and meters it',
    params: z
      .object({ blobId: base58Id('blob id').optional(), url: z.string().max(2048).optional(), source: z.string().max(256).optional(), alias: aliasName.optional() })
      .strict()
      .refine((p) => (p.blobId === undefined) !== (p.url === undefined), { message: 'give exactly one of blobId and url' }),
    handler: async ({ blobId, url, source, alias }, { node }) => {
      const id = url ? await downloadToBlob(node.blobs, url, node.runtime.limits.maxModuleBytes + 4 * 1024 * 1024) : parseBlobId(blobId!)
      if (url) source ??= url
      try {
        const meta = await node.applications.installFromBlob(id, source)
        if (alias) node.aliases.create('application', alias, meta.applicationId, true)
        return withAlias(node, meta)
      } finally {
        // the upload's own hold: the application holds the bytes now (or they were refused)
        if (node.blobs.get(id)?.holders.includes('user')) node.blobs.release(id, 'user')
      }
    },
  }),
  'app.list': method({
    description: 'Installed applications: packages (name, version, signer) and unsigned development modules',
    params: z.object({}).strict(),
    handler: (_p, { node }) => ({ applications: node.applications.list().map((m) => withAlias(node, m)) }),
  }),
  'app.get': method({
    description: 'An application: size, source, ABI',
    params: z.object({ application }).strict(),
    handler: ({ application }, { node }) => withAlias(node, node.applications.require(resolveApp(node, application))),
  }),
  'app.uninstall': method({
    description: 'Uninstall an application; refused while a context uses it',
    params: z.object({ application }).strict(),
    handler: ({ application }, { node }) => {
      const id = resolveApp(node, application)
      const meta = node.applications.require(id)
      node.applications.uninstall(id, node.contextsUsing(meta.applicationId))
      node.aliases.forget('application', meta.applicationId)
      return { applicationId: meta.applicationId, uninstalled: true }
    },
  }),
}
