import { Args } from '@oclif/core'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { MeroCommand } from '../../client/base-command.js'
import { waitForPeerFlag, yesFlag } from '../../client/flags.js'
import { startAndCatchUp, type CatchUp } from '../../client/catch-up.js'
import { withSpinner } from '../../client/progress.js'
import { renderRestore } from '../../client/views/node.js'
import { MeroError } from '../../core/primitives/errors.js'

export default class NodeRestore extends MeroCommand<typeof NodeRestore> {
  static override summary = 'Restore a node from a backup folder, then start it and catch up from peers'
  static override description =
    "Checks the backup (its manifest, key, config, the store with its write-ahead log and root hashes, every chunk's hash), then puts it into the node folder: a node that exists keeps its previous files in replaced-<time>/ (asks first; --yes otherwise). The node must be stopped. Then (unless --no-start) it starts with the backup's identity and state, and syncs its groups and contexts from its peers. The backup of a node encrypted at rest needs its key: the file the backup's config names (store.encryption_key_file) or $MERO_STORE_KEY_FILE."
  static override examples = ['<%= config.bin %> node restore /var/backups/mero-2026-01-01', '<%= config.bin %> node restore ./bk --node alice --yes']
  static override args = { dir: Args.string({ description: 'the backup folder (written by `meroctl node backup`)', required: true }) }
  static override flags = {
    yes: yesFlag,
    wait: waitForPeerFlag,
  }

  async run() {
    const dir = resolve(this.args.dir)
    // the confirmation rule: the input first (a folder that holds a backup), then the question
    const isBackup = async () => {
      if (!existsSync(join(dir, 'backup.json'))) throw new MeroError('InvalidInput', `${dir} holds no backup (no backup.json); \`meroctl node backup <dir>\` writes one`)
    }
    if (this.manager.initialized) await this.confirmAfter(isBackup, () => `Replace node '${this.manager.home.node}' (its identity, data and config) with the backup in ${dir}?`, this.flags.yes)
    const restored = await withSpinner('restoring', !this.jsonEnabled(), () => this.manager.restore(dir, this.manager.initialized))
    let caughtUp: CatchUp | undefined
    if (this.flags.start) {
      caughtUp = await withSpinner('starting merod and catching up from peers', !this.jsonEnabled(), () => startAndCatchUp(this.manager, this.flags.wait))
    }
    this.out(renderRestore(restored, caughtUp))
    return { ...restored, ...(caughtUp ? { catchUp: caughtUp } : {}) }
  }
}
