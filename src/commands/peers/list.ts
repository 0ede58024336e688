import { MeroCommand } from '../../client/base-command.js'
import { listFlags } from '../../client/flags.js'
import { table } from '../../client/render.js'

export default class PeersList extends MeroCommand<typeof PeersList> {
  static override summary = 'List connected peers'
  static override examples = ['<%= config.bin %> peers list', '<%= config.bin %> peers list --wide', '<%= config.bin %> peers list -q']
  static override flags = listFlags

  async run() {
    const r = await this.call('peers.list')
    this.show(() => table(['peer', 'addresses'], r.peers.map((p) => [this.shown(p.peerId), p.addresses.join(' ')]), { empty: 'no peers connected', ...this.tableOptions }), r.peers.map((p) => p.peerId))
    return r
  }
}
