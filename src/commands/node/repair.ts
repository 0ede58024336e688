import { MeroCommand } from '../../client/base-command.js'
import { waitForPeerFlag } from '../../client/flags.js'
import { startAndCatchUp, type CatchUp } from '../../client/catch-up.js'
import { withSpinner } from '../../client/progress.js'
import { renderRepair } from '../../client/views/node.js'

export default class NodeRepair extends MeroCommand<typeof NodeRepair> {
  static override summary = "Recover a node's store after damage, say what was lost, then catch up from peers"
  static override description =
    "Run it when merod refuses to start because its write-ahead log is damaged, cut short or missing. With the daemon stopped, the damaged logs are copied aside, RocksDB replays them up to the damage, and the report names what could not be recovered. Then (unless --no-start) the node starts and fetches what its peers hold: groups' ops and contexts' deltas. A corrupt table file (.sst) cannot be repaired this way: restore a backup (`meroctl node restore`)."
  static override examples = ['<%= config.bin %> node repair', '<%= config.bin %> node repair --node alice --json']
  static override flags = {
    wait: waitForPeerFlag,
  }

  async run() {
    const report = await withSpinner('repairing the store', !this.jsonEnabled(), () => this.manager.repair())
    let caughtUp: CatchUp | undefined
    if (this.flags.start) {
      caughtUp = await withSpinner('starting merod and catching up from peers', !this.jsonEnabled(), () => startAndCatchUp(this.manager, this.flags.wait))
    }
    this.out(renderRepair(report, caughtUp))
    return { ...report, ...(caughtUp ? { catchUp: caughtUp } : {}) }
  }
}
