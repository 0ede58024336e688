import { MeroCommand } from '../../client/base-command.js'
import { initFlags, yesFlag } from '../../client/flags.js'
import { keyValue } from '../../client/render.js'

export default class NodeInit extends MeroCommand<typeof NodeInit> {
  static override summary = 'Create a node: its folder, identity key and config'
  static override description = `Creates <home>/<node>/ (mode 0700) with identity.key (an Ed25519 key, mode 0600) and a documented config.toml. Refuses to touch an existing node unless --force, which asks first on a terminal (--yes otherwise).

--encryption-key-file FILE makes the node encrypt its store at rest: the values of its state, deltas, keys, governance ops and other sealed columns, and its blob files, under the 32-byte key in FILE (made now when absent). It protects a copied data folder, a stolen disk or a backup: without the key they cannot be read, and the node refuses to start without it (or with another key), changing nothing. It does not hide the keys of the store's rows, the sizes and counts of values, a running node's memory, or what members have already read. An existing node is encrypted at its next start once store.encryption_key_file names a key file (meroctl config set).`
  static override examples = [
    '<%= config.bin %> node init',
    '<%= config.bin %> node init --node alice --listen /ip4/127.0.0.1/tcp/2500',
    '<%= config.bin %> node init --encryption-key-file /secrets/mero-store.key',
    '<%= config.bin %> node init --force --yes',
  ]
  static override flags = { ...initFlags, yes: yesFlag }

  async run() {
    const opts = { listen: this.flags.listen, bootstrap: this.flags.bootstrap, force: this.flags.force, encryptionKeyFile: this.flags['encryption-key-file'] }
    if (opts.force) {
      // the arguments and the node are checked (merod init --dry-run) before anything is asked
      const c = await this.manager.checkInit(opts)
      if (c.exists) await this.confirm(`Replace node '${c.node}' (${c.dir}): its identity, config and data are deleted, for good?`, this.flags.yes)
    }
    const r = await this.manager.init(opts)
    const encryption = r.encryption ? [['encrypted at rest', `${r.encryption.keyFile} (key id ${r.encryption.keyId}${r.encryption.created ? ', made now: keep a copy apart from the node' : ''})`] as [string, string]] : []
    this.out(`Initialised node '${r.node}'\n` + keyValue([['folder', r.dir], ['identity', r.identity], ['peer id', r.peerId], ['listen', r.listen], ...encryption]))
    return r
  }
}
